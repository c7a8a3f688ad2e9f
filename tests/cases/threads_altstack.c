/* A signal handler running on an alternate signal stack (an mmap'd region,
 * neither a heap block nor a module segment) holds the only pointer to a
 * block (70 bytes) in a local, and waits there in pause().
 * Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

static int g_ready, g_installed;
void *g_handoff;
#define ALT_SIZE (256 * 1024)

RC_NOINLINE void alloc_it(void) { g_handoff = malloc(70); }

void on_usr1(int sig)
{
  void *volatile p = g_handoff;
  g_handoff = 0;
  volatile char here;
  stack_t ss;
  sigaltstack(NULL, &ss);
  RC_CHECK((char *)&here >= (char *)ss.ss_sp && (char *)&here < (char *)ss.ss_sp + ss.ss_size);
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  (void)p;
  (void)sig;
}

void *thread_main(void *arg)
{
  void *alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  RC_CHECK(alt != MAP_FAILED);
  stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
  RC_CHECK(sigaltstack(&ss, NULL) == 0);
  alt = NULL;
  alloc_it();
  rc_scrub();
  __atomic_store_n(&g_installed, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return arg;
}

int main(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  RC_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  sigset_t s;   /* only the worker may take SIGUSR1 */
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  while (!__atomic_load_n(&g_installed, __ATOMIC_SEQ_CST)) usleep(1000);
  pthread_kill(t, SIGUSR1);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
