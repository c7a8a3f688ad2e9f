/* malloc and free from signal handlers: SIGUSR1 raised 10 times in the main
 * thread and sent to a second thread blocked in read(). Each handler run keeps
 * one block (20) in a global array and churns; the first run leaks one block
 * of 55 bytes from leak_in_handler(), called by on_signal().
 * Expect direct 1 / 55, indirect 0, a leak stack through on_signal. */
#include "rc_test.h"
#include <pthread.h>
#include <signal.h>

void *g_sig[64];
static int g_count, g_ready;
static int g_pipe[2];

RC_NOINLINE void leak_in_handler(void)
{
  void *volatile p = malloc(55);
  rc_barrier(p);
  p = NULL;
}

void on_signal(int sig)
{
  (void)sig;
  int i = __atomic_fetch_add(&g_count, 1, __ATOMIC_SEQ_CST);
  g_sig[i] = malloc(20);
  for (int k = 0; k < 20; k++) free(malloc((size_t)k * 3));
  if (i == 0) leak_in_handler();
}

void *reader(void *arg)
{
  __atomic_store_n(&g_ready, 1, __ATOMIC_SEQ_CST);
  char c;
  while (read(g_pipe[0], &c, 1) != 1) {}
  rc_scrub();
  return arg;
}

int main(void)
{
  RC_CHECK(pipe(g_pipe) == 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  RC_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  for (int i = 0; i < 10; i++) raise(SIGUSR1);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, reader, NULL) == 0);
  while (!__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST)) usleep(1000);
  usleep(20000);
  pthread_kill(t, SIGUSR1);
  while (__atomic_load_n(&g_count, __ATOMIC_SEQ_CST) < 11) usleep(1000);
  RC_CHECK(write(g_pipe[1], "x", 1) == 1);
  pthread_join(t, NULL);
  rc_scrub();
  return 0;
}
