/* A thread blocks every signal with the raw rt_sigprocmask system call, which
 * no interposition can see, so it never answers a stop signal. It keeps block
 * (60 bytes) in a volatile stack local and spins. The checker must not hang:
 * after stop_timeout_ms it scans the thread's whole stack mapping and warns.
 * Expect direct 1 / 77, indirect 0 (run with stop_timeout_ms=300). */
#include "rc_test.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

static int g_ready;
void *g_handoff;

RC_NOINLINE void alloc_it(void) { g_handoff = malloc(60); }

void *thread_main(void *arg)
{
  uint64_t all = ~0ull;
  RC_CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL, 8) == 0);
  alloc_it();
  void *volatile p = g_handoff;
  g_handoff = 0;
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) __asm__ __volatile__("pause" ::: "memory");
  return (void *)p;
}

int main(void)
{
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
