/* Threads blocked in system calls hold the only pointers to their blocks:
 * read() on a pipe that never gets data, nanosleep(), pause(), and
 * sigwaitinfo(). Each holds one block (50..53 bytes) in a volatile local.
 * Expect direct 1 / 77, indirect 0, reachable >= 4. */
#include "rc_test.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

static int g_ready;
static int g_pipe[2];
void *g_handoff[4];

RC_NOINLINE void alloc_into(int i, size_t n) { g_handoff[i] = malloc(n); }

#define TAKE(i, n)                         \
  alloc_into(i, n);                        \
  void *volatile p = g_handoff[i];         \
  g_handoff[i] = 0;                        \
  rc_scrub();                              \
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST)

void *in_read(void *arg)
{
  TAKE(0, 50);
  char c;
  for (;;) read(g_pipe[0], &c, 1);
  return (void *)p;
}

void *in_nanosleep(void *arg)
{
  TAKE(1, 51);
  for (;;) {
    struct timespec ts = {1000, 0};
    nanosleep(&ts, NULL);
  }
  return (void *)p;
}

void *in_pause(void *arg)
{
  TAKE(2, 52);
  for (;;) pause();
  return (void *)p;
}

void *in_sigwait(void *arg)
{
  TAKE(3, 53);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  for (;;) sigwaitinfo(&s, NULL);
  return (void *)p;
}

int main(void)
{
  RC_CHECK(pipe(g_pipe) == 0);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, in_read, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, in_nanosleep, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, in_pause, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, in_sigwait, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 4) usleep(1000);
  usleep(50000);   /* let them enter their system calls */
  rc_leak_known();
  rc_scrub();
  return 0;
}
