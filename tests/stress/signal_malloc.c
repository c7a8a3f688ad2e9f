/* Signal handlers that call malloc and free, at 5 kHz per thread, on three
 * threads that themselves hammer malloc/free/realloc, while the main thread
 * runs full checks (so the handler also interrupts the checker itself, in the
 * middle of a check). Each handler keeps one block in a per-thread ring and
 * frees the one it replaces; sizes include large blocks (>2 KiB) that bypass
 * the thread cache and go back to Boehm. Expect: every check and the at-exit
 * report direct 1 / 77 exactly, indirect 0; no deadlock. */
#include "stress.h"
#include <sys/syscall.h>

#define NT 3
#define RING 16
static void *volatile g_ring[NT + 1][RING];
static void *volatile g_work[NT][64];
static volatile int g_stop;
static __thread int t_id;
static __thread unsigned t_n;
static volatile long g_signals;

static void on_tick(int sig)
{
  (void)sig;
  int e = errno;
  unsigned i = t_n++ % RING;
  size_t n = (t_n % 5 == 0) ? 3000 + t_n % 5000 : 8 + t_n % 200;
  void *p = malloc(n);
  if (p) memset(p, 0x33, n < 64 ? n : 64);
  void *old = g_ring[t_id][i];
  g_ring[t_id][i] = p;
  free(old);
  __atomic_add_fetch(&g_signals, 1, __ATOMIC_RELAXED);
  errno = e;
}

static void start_timer(void)
{
  timer_t tm;
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGUSR1;
  ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  RC_CHECK(timer_create(CLOCK_MONOTONIC, &ev, &tm) == 0);
  struct itimerspec its = {{0, 200000}, {0, 200000}};
  RC_CHECK(timer_settime(tm, 0, &its, NULL) == 0);
}

static void *worker(void *arg)
{
  t_id = (int)(long)arg;
  start_timer();
  uint64_t s = 12345 + (uint64_t)t_id;
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    uint64_t r = rcs_rand(&s);
    int i = (int)(r % 64);
    void *old = g_work[t_id][i];
    g_work[t_id][i] = NULL;
    if (r & 0x100) {
      free(old);
      g_work[t_id][i] = malloc((r >> 12) % 4000);
    } else {
      void *q = realloc(old, (r >> 12) % 300 + 1);
      g_work[t_id][i] = q ? q : old;
    }
  }
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &m, NULL);
  return NULL;
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? atof(argv[1]) : 3.0;
  rcs_watchdog(120);
  rcs_require_runtime();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_tick;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  RC_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
  rc_leak_known();
  rc_scrub();
  pthread_t t[NT];
  for (long i = 0; i < NT; i++) RC_CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
  t_id = NT;
  start_timer();
  double end = rcs_now() + secs;
  int checks = 0;
  struct reachcheck_result r;
  while (rcs_now() < end) {
    memset(&r, 0, sizeof r);
    long n = reachcheck_check(&r, 0);
    RC_CHECK(n == 1);
    RCS_EXPECT(r, 1, 77, 0);
    checks++;
  }
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &m, NULL);
  __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < NT; i++) RC_CHECK(pthread_join(t[i], NULL) == 0);
  RC_CHECK(checks > 0 && __atomic_load_n(&g_signals, __ATOMIC_RELAXED) > 100);
  fprintf(stderr, "%d checks, %ld handler runs\n", checks, g_signals);
  printf("ok\n");
  rc_scrub();
  return 0;
}
