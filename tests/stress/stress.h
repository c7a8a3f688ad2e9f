/* Helpers shared by the stress, fault and hostile-input programs: the public
 * API resolved at run time (the programs run under the launcher, so the
 * symbols come from the preloaded runtime; weak, so a plain run still links),
 * a watchdog that turns a hang into a clear failure, and a cheap RNG. */
#ifndef RC_STRESS_H
#define RC_STRESS_H
#include "rc_test.h"
#include "../../include/reachcheck.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <malloc.h>

#pragma weak reachcheck_active
#pragma weak reachcheck_check
#pragma weak reachcheck_scope_begin
#pragma weak reachcheck_scope_end

/* Abort with a clear message if the program is still running after `secs`:
 * a deadlock in the checker is a failure, not a CTest timeout. */
static void rcs_on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "TEST PROGRAM FAILURE: watchdog fired (deadlock or hang)\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
  _exit(98);
}
static __attribute__((unused)) void rcs_watchdog(unsigned secs)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = rcs_on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(secs);
}

/* The runtime must be there: these programs only make sense under it. */
static __attribute__((unused)) void rcs_require_runtime(void)
{
  RC_CHECK(reachcheck_active && reachcheck_active() == 1);
}

static inline uint64_t rcs_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static __attribute__((unused)) double rcs_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Check a result against exact leak counts; print both on failure. */
#define RCS_EXPECT(r, dblocks, dbytes, iblocks)                                                        \
  do {                                                                                                 \
    if ((r).direct_blocks != (dblocks) || (r).direct_bytes != (dbytes) || (r).indirect_blocks != (iblocks)) { \
      fprintf(stderr, "expected direct %d/%d indirect %d, got direct %llu/%llu indirect %llu/%llu\n",  \
              (int)(dblocks), (int)(dbytes), (int)(iblocks), (unsigned long long)(r).direct_blocks,    \
              (unsigned long long)(r).direct_bytes, (unsigned long long)(r).indirect_blocks,           \
              (unsigned long long)(r).indirect_bytes);                                                 \
      rc_fail("leak counts at " __FILE__ ":" RC_STR(__LINE__));                                        \
    }                                                                                                  \
  } while (0)
#endif
