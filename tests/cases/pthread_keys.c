/* pthread_setspecific values are roots: create 40 keys (keys < 32 live inline
 * in the thread descriptor, keys >= 32 in a calloc'ed second-level array) and
 * store a block (24 bytes) under each, in the main thread and in a second
 * thread that stays blocked. Expect direct 1 / 77, indirect 0,
 * reachable >= 80. */
#include "rc_test.h"
#include <pthread.h>

#define NKEYS 40
static pthread_key_t g_keys[NKEYS];
static int g_ready;

RC_NOINLINE void set_all(void)
{
  for (int i = 0; i < NKEYS; i++) {
    RC_CHECK(pthread_setspecific(g_keys[i], malloc(24)) == 0);
    RC_CHECK(pthread_getspecific(g_keys[i]) != NULL);
  }
}

void *worker(void *arg)
{
  set_all();
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return arg;
}

int main(void)
{
  for (int i = 0; i < NKEYS; i++) RC_CHECK(pthread_key_create(&g_keys[i], NULL) == 0);
  /* the keys must span both levels: some index >= 32 */
  int high = 0;
  for (int i = 0; i < NKEYS; i++) high |= g_keys[i] >= 32;
  RC_CHECK(high);
  set_all();
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
