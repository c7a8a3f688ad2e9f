/* (d) signal handlers that unwind and malloc: a profiling timer interrupts
 * recursion (and rc_unwind itself) at random points; a handler on a
 * sigaltstack. Inside a handler the walk meets __restore_rt (an 'S' CIE) or
 * an unknown stack: a clean fallback, never a wrong stack. */
#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include "rcu.h"

static __thread volatile sig_atomic_t in_compare;   /* per thread: what a handler interrupted */
static volatile sig_atomic_t handled, nested;
static volatile int sink;
/* glibc's malloc is not async-signal-safe; the runtime's is (it serves a
 * handler that interrupted it from an arena), so handlers malloc only there. */
static int under_runtime;

static void on_prof(int sig)
{
  (void)sig;
  int e = errno;
  handled++;
  if (under_runtime) {
    void *volatile p = malloc(40);
    free(p);
  }
  if (in_compare) {
    uintptr_t pcs[RCU_MAX];        /* interrupting a walk: a nested walk must still be sane */
    int n = rc_unwind(pcs, RCU_MAX, 0);
    if (n >= -1) nested++;   /* -1: the walk met __restore_rt */
  } else {
    in_compare = 1;
    rcu_compare();
    in_compare = 0;
  }
  errno = e;
}

static volatile int alt_result = 9;
static void on_usr1(int sig)
{
  (void)sig;
  uintptr_t pcs[8];
  alt_result = rc_unwind(pcs, 8, 0);   /* on the sigaltstack: stack unknown */
  if (under_runtime) {
    void *volatile p = malloc(8);
    free(p);
  }
}

static RCU_NOINLINE int rec(int d, int s)
{
  volatile char pad[64 + (s & 3) * 32];
  pad[0] = (char)d;
  if (d == 0) {
    in_compare = 1;
    rcu_compare();
    in_compare = 0;
    for (int i = 0; i < 20; i++) {
      void *volatile p = malloc(16 + (size_t)i);
      free(p);
    }
    return pad[0];
  }
  return rec(d - 1, s + 1) + pad[0];
}

static void *worker(void *arg)
{
  for (int i = 0; i < 150000; i++) sink += rec(1 + i % 40, i + (int)(intptr_t)arg);
  return NULL;
}

static volatile int done;
static pthread_t targets[2];
static void *pinger(void *arg)   /* far more signals than the profiling timer gives */
{
  (void)arg;
  struct timespec ts = { 0, 20000 };
  for (unsigned i = 0; !done; i++) {
    pthread_kill(targets[i & 1], SIGPROF);
    nanosleep(&ts, NULL);
  }
  return NULL;
}

int main(void)
{
  under_runtime = dlsym(RTLD_DEFAULT, "reachcheck_check") != NULL;
  rcu_malloc = under_runtime;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prof;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval it = { { 0, 200 }, { 0, 200 } };
  setitimer(ITIMER_PROF, &it, NULL);
  pthread_t t, p;
  targets[0] = pthread_self();
  pthread_create(&t, NULL, worker, (void *)1);
  targets[1] = t;
  pthread_create(&p, NULL, pinger, NULL);
  worker(NULL);
  done = 1;   /* before t can exit: the pinger must not signal a joined thread */
  pthread_join(p, NULL);
  pthread_join(t, NULL);
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  setitimer(ITIMER_PROF, &off, NULL);

  static char altstack[65536];
  stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
  sigaltstack(&ss, NULL);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  printf("signals: %d handled, %d nested walks, altstack walk %d\n", (int)handled, (int)nested, alt_result);
  if (alt_result != -1) {
    fprintf(stderr, "a walk on a sigaltstack must fall back\n");
    return 1;
  }
  return rcu_finish("signals", 3000, 1);
}
