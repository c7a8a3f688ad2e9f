/* Memory over time, from the allocation counters (stack/counters.h): the
 * total of live bytes, its peak with every stack's live bytes and blocks at
 * that moment, and a timeline of bounded length. docs/over-time.md has the
 * design, the accuracy and the memory bound.
 *
 * The heap only feeds per-thread byte deltas (rc_live_delta); the work
 * below runs when a thread's delta leaves rc_me's flush bounds, so a malloc/free
 * pair that leaves the heap as it was costs no shared write, and a sum of
 * all counters is taken only when the total passes the last peak by more
 * than 1% (massif's --peak-inaccuracy) or a timeline point is due. Safe in
 * the allocator's critical section, with the world stopped and in a forked
 * copy: no lock is waited for, nothing comes from the checked heap. */
#ifndef RC_STACK_TIMELINE_H
#define RC_STACK_TIMELINE_H
#include <stdint.h>
#include "base/base.h"

#define RC_TL_POINTS 1024   /* timeline points kept; when full, pairs merge and the interval doubles */
#define RC_TL_TOP 8         /* stacks with the most live bytes kept per point */
#define RC_PEAK_SLACK 100   /* a new peak is copied when the total passes the last one by 1/100 */

struct rc_tl_point {
  double t_ms;                        /* since the runtime started */
  uint64_t bytes, blocks;             /* live, in tracked blocks */
  uint32_t site[RC_TL_TOP];           /* stack ids by live bytes, 0 past the last */
  uint64_t site_bytes[RC_TL_TOP];
};

struct rc_peak {
  double t_ms;                        /* since the runtime started; < 0: no peak yet */
  uint64_t bytes, blocks;             /* the sum of every stack's live bytes and blocks then */
  uint32_t n;                         /* stack ids below n have entries */
  const uint64_t *site_bytes, *site_blocks;
};

/* CLOCK_MONOTONIC milliseconds when the runtime started: t_ms 0. */
double rc_time_start_ms(void);
/* Readers of the peak and the points hold the recorder's lock meanwhile
 * (a thread recording may grow and move the peak's arrays). It is tried
 * for a bounded time: false when another thread holds it that long (a
 * stopped or, in a forked copy, vanished one); then read nothing. */
bool rc_timeline_lock(void);
void rc_timeline_unlock(void);
/* The peak so far (pointers into the recorder's own copy; under the lock). */
void rc_peak_get(struct rc_peak *out);
/* The timeline so far (under the lock); *interval_ms: the current spacing
 * of points. */
uint32_t rc_timeline_get(const struct rc_tl_point **pts, double *interval_ms);
/* A point now (exit, a snapshot), after the caller's own delta is added;
 * also updates the peak when the sum is above it. */
void rc_timeline_mark(void);
/* A free from a signal handler inside the allocator. */
void rc_live_add_async(int64_t delta);
/* Points ever taken (more than are kept once coarsened). */
uint64_t rc_timeline_samples(void);
/* Sums of the counters taken because the total passed the last peak by its
 * slack (*sums), and of those the ones that found no new peak (*stale: the
 * total read high, from frees other threads had not handed on yet). */
void rc_timeline_peak_sums(uint64_t *sums, uint64_t *stale);
/* Memory the recorder holds now (docs/over-time.md). */
uint64_t rc_timeline_memory(void);
/* Thread exit (scanners/threads.c): the thread's delta joins the total. */
void rc_live_thread_exit(void);
#endif
