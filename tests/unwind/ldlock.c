/* (g) libunwind's locks against ld.so's, made to meet on purpose: under
 * RC_UNWIND_VERIFY=1 every capture also runs unw_backtrace, and the
 * runtime's fallback is libunwind too. Thread B holds ld.so's lock (inside
 * a dl_iterate_phdr callback, as the runtime's own rule lookup or a C++
 * exception does) while thread A, whose capture needs libunwind to look a
 * frame up, waits for that lock; then B mallocs. If A waited while holding
 * a libunwind mutex (its global cache of register states, which Debian's
 * 1.6.2 uses even when asked for UNW_CACHE_PER_THREAD), B's capture waits
 * for that mutex and neither moves: the hang rc.unwind.signals.runtime hit
 * about once in 30-60 runs (docs/reliability.md). Here it is certain, and
 * a watchdog reports it instead of hanging.
 *
 * The set-up: our unwinder's rule cache is global and libunwind's trace
 * cache per thread, so a warm-up thread with A's very frames fills the
 * former, unw_flush_cache empties libunwind's cache of register states,
 * and A, a fresh thread, walks with our rules known (no dl_iterate_phdr of
 * ours) but libunwind's to be found (dl_iterate_phdr under its cache). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define RCU_NOINLINE __attribute__((noinline))

static volatile int go, a_done;

static RCU_NOINLINE void site(void)
{
  void *volatile p = malloc(24);
  free(p);
  __asm__ volatile("" ::: "memory");
}

static RCU_NOINLINE void site_b(void)
{
  void *volatile p = malloc(40);
  free(p);
  __asm__ volatile("" ::: "memory");
}

/* The warm-up and A: the same function, so the same frames. */
static void *thread_a(void *wait)
{
  if (wait)
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) usleep(1000);
  site();
  __atomic_store_n(&a_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void nap_ms(long ms)
{
  struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&t, &t)) {}
}

static int holding_ldso(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)info, (void)size, (void)arg;
  __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
  nap_ms(300);   /* A reaches ld.so's lock and waits */
  site_b();
  return 1;
}

static void *thread_b(void *arg)
{
  (void)arg;
  dl_iterate_phdr(holding_ldso, NULL);
  return NULL;
}

static void on_alarm(int sig)
{
  (void)sig;
  static const char m[] = "ldlock: DEADLOCK: a capture waits for libunwind while another holds it waiting for ld.so\n";
  if (write(2, m, sizeof m - 1)) {}
  _exit(3);
}

int main(void)
{
  pthread_t w, a, b;
  signal(SIGALRM, on_alarm);
  alarm(20);
  if (pthread_create(&w, NULL, thread_a, NULL) || pthread_join(w, NULL)) return 2;
  unw_flush_cache(unw_local_addr_space, 0, 0);
  if (pthread_create(&a, NULL, thread_a, (void *)1) || pthread_create(&b, NULL, thread_b, NULL)) return 2;
  pthread_join(b, NULL);
  pthread_join(a, NULL);
  printf("ldlock: ok (A done %d)\n", a_done);
  return a_done ? 0 : 1;
}
