/* Static TLS: __thread variables of the executable and of a linked shared
 * library (libtlsdep.so) hold the only pointers to blocks, in the main thread
 * and in a second thread that stays blocked.
 * main: exe 30, exe static-local 31, lib 32; worker: 33, 34, 35.
 * Expect direct 1 / 77, indirect 0, reachable >= 6. */
#include "rc_test.h"
#include <pthread.h>

void tlsdep_set(void *p);
void *tlsdep_get(void);
__thread void *t_exe;
static int g_ready;

RC_NOINLINE void set_all(size_t base)
{
  static __thread void *t_local;
  t_exe = malloc(base);
  t_local = malloc(base + 1);
  tlsdep_set(malloc(base + 2));
  RC_CHECK(t_exe && t_local && tlsdep_get());
}

void *worker(void *arg)
{
  set_all(33);
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return arg;
}

int main(void)
{
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  set_all(30);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
