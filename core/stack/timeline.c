/* Peak and timeline of live bytes over the allocation counters (see
 * timeline.h for the design and docs/over-time.md for its bounds). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <string.h>
#include <x86intrin.h>
#include "base/spinlock.h"
#include "stack/counters.h"
#include "stack/stack.h"
#include "stack/timeline.h"

/* The smallest per-thread delta that is handed on: the total misses at
 * most threads x max(1 KiB, peak/512), so 5 threads with unflushed deltas
 * miss at most 1% of a peak above 512 KiB. */
#define FLUSH_MIN RC_LIVE_FLUSH_MIN
#define FLUSH_DIV 512
/* A point costs one sum of every counter: the interval is at least this
 * many times what a sum takes (cost_ms: 1%). */
#define SAMPLE_COST_FACTOR 100
#define FIRST_INTERVAL_MS 1.0
/* A thread reads the clock at least every this many flushes, whatever the
 * TSC says (see tsc0). */
#define TSC_TRUST 64

/* What every flush reads, kept in one cache line: on the churn the
 * clearing of freed bytes evicts them between two flushes (perf put a
 * flush at ~50 ns there). */
static struct __attribute__((aligned(64))) {
  int64_t live_total;   /* sum of flushed deltas */
  int64_t flush_at;     /* each thread copies it into rc_me.span when it flushes */
  int64_t copy_above;   /* sum the counters again when live_total passes this */
  int64_t next_us;      /* CLOCK_MONOTONIC microseconds when a point is due */
  uint64_t tsc_next;    /* see tsc0 */
} hot = {.flush_at = FLUSH_MIN};
static rc_spinlock busy = RC_SPINLOCK_INIT;   /* the scratch, the peak and the points */
static double t0;

/* One sum of every table: live bytes and blocks per stack id (cur), and
 * those of the peak. When a sum is a new peak the two pairs of arrays
 * change places instead of the sum being copied; both have cap entries. */
static struct {
  uint64_t *bytes_at, *blocks_at;
} cur;
static uint32_t cap;
static struct {
  double t_ms;
  uint64_t bytes, blocks;
  uint32_t n;
  uint64_t *bytes_at, *blocks_at;
} peak = {.t_ms = -1};

static struct rc_tl_point pts[RC_TL_POINTS];
static uint32_t npts;
static uint64_t taken;               /* points ever taken */
/* Sums taken because the total passed copy_above, and of those the ones
 * that found no new peak (the total read high: see record). */
static uint64_t peak_sums, peak_sums_stale;
static double interval_ms = FIRST_INTERVAL_MS;
/* What a sum costs, as the spacing of points sees it: the last sum's wall
 * time, but at most twice the previous estimate. A sum whose thread was
 * preempted (a loaded machine) took 100 times longer once and would have
 * spaced the points 100 times wider; a sum that is slower because the
 * program has more stacks catches up by doubling. */
static double cost_ms;
/* A point is due by CLOCK_MONOTONIC, read through the vDSO (~25
 * instructions a read: as much as the rest of a flush). A flush first
 * compares the TSC with hot.tsc_next, a lower bound of the TSC when the next
 * point is due, and reads the clock only past it (or at a new peak). The
 * TSC serves only where the CPU says it runs at one rate in every state
 * (invariant TSC: cpuid 0x80000007, EDX bit 8), and only as that bound,
 * set 10% early: the clock decides, so a bound off by as much costs a
 * clock read, never a point. 0: read the clock at every flush (no
 * invariant TSC, or the first millisecond, before the rate is known).
 * Should the TSCs of two CPUs disagree by more (a hypervisor that does not
 * keep them in step), a thread still reads the clock at every TSC_TRUST-th
 * flush: a point is late by at most that many flushes. */
static uint64_t tsc0;                /* the TSC when t0 was read; 0: not used */
/* Whether the TSC is invariant is asked at the first point that sets a
 * bound (under busy), not at start-up: cpuid traps to the hypervisor in a
 * VM (8.6 us a call on session 16's KVM guest, two calls), and a short
 * process takes no point but its last, which sets none. Until then tsc0
 * is read at t0 in any case. */
static bool tsc_asked;

/* Whether the TSC runs at one rate in every CPU state (see tsc_next). */
static bool invariant_tsc(void)
{
  unsigned a, b, c, d;
  if (__get_cpuid_max(0x80000000u, NULL) < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &a, &b, &c, &d)) return false;
  return (d >> 8) & 1;
}

double rc_time_start_ms(void) { return t0; }

/* The four arrays with room for n stack ids, grown together by doubling
 * (never shrunk); the peak's entries are kept. */
static bool ensure(uint32_t n)
{
  if (n <= cap) return true;
  uint32_t c = cap ? cap : 1024;
  while (c < n) c *= 2;
  uint64_t *a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = rc_mmap((size_t)c * sizeof(uint64_t));
    if (!a[i]) {
      while (i-- > 0) rc_munmap(a[i], (size_t)c * sizeof(uint64_t));
      return false;
    }
  }
  uint64_t **old[4] = {&cur.bytes_at, &cur.blocks_at, &peak.bytes_at, &peak.blocks_at};
  for (int i = 0; i < 4; i++) {
    if (*old[i]) {
      memcpy(a[i], *old[i], (size_t)cap * sizeof(uint64_t));
      rc_munmap(*old[i], (size_t)cap * sizeof(uint64_t));
    }
    *old[i] = a[i];
  }
  cap = c;
  return true;
}

/* Every table summed into cur, and its totals (stack id 0, no stack, left
 * out); the number of entries, 0 on failure. */
static uint32_t take_sum(uint64_t *bytes, uint64_t *blocks)
{
  if (t0 == 0) t0 = rc_now_ms();   /* a library's constructor allocated before ours ran */
  uint32_t n = rc_depot_count() + 1;
  if (n > RC_COUNT_MAX_IDS) n = RC_COUNT_MAX_IDS;
  if (!ensure(n)) return 0;
  rc_counts_live(cur.bytes_at, cur.blocks_at, n, bytes, blocks);
  return n;
}

/* The current sum becomes the peak if it is above it (true): the arrays
 * change places (the old peak's become the next sum's scratch). */
static bool consider_peak(uint32_t n, uint64_t bytes, uint64_t blocks, double t_ms)
{
  if (peak.t_ms >= 0 && bytes <= peak.bytes) return false;
  uint64_t *b = peak.bytes_at, *k = peak.blocks_at;
  peak.bytes_at = cur.bytes_at;
  peak.blocks_at = cur.blocks_at;
  cur.bytes_at = b;
  cur.blocks_at = k;
  peak.n = n;
  peak.bytes = bytes;
  peak.blocks = blocks;
  peak.t_ms = t_ms;
  int64_t step = (int64_t)(bytes / FLUSH_DIV);
  __atomic_store_n(&hot.flush_at, step > FLUSH_MIN ? step : FLUSH_MIN, __ATOMIC_RELAXED);
  return true;
}

/* Full: each pair of points becomes the one with more live bytes (a spike
 * survives coarsening, as massif keeps its peak), and points come half as
 * often. */
static void coarsen(void)
{
  for (size_t i = 0; i < RC_TL_POINTS / 2; i++) {
    const struct rc_tl_point *a = &pts[2 * i], *b = &pts[2 * i + 1];
    pts[i] = b->bytes > a->bytes ? *b : *a;
  }
  npts = RC_TL_POINTS / 2;
  interval_ms *= 2;
}

/* live: the sum's bytes per stack id (cur's, or the peak's when it just
 * became the peak). */
static void add_point(const uint64_t *live, uint32_t n, uint64_t bytes, uint64_t blocks, double t_ms)
{
  if (npts == RC_TL_POINTS) coarsen();
  struct rc_tl_point *p = &pts[npts++];
  taken++;
  memset(p, 0, sizeof *p);
  p->t_ms = t_ms;
  p->bytes = bytes;
  p->blocks = blocks;
  for (uint32_t i = 1; i < n; i++) {   /* top RC_TL_TOP by live bytes, by insertion */
    uint64_t b = live[i];
    if (!b || b <= p->site_bytes[RC_TL_TOP - 1]) continue;
    int k = RC_TL_TOP - 1;
    for (; k > 0 && p->site_bytes[k - 1] < b; k--) {
      p->site_bytes[k] = p->site_bytes[k - 1];
      p->site[k] = p->site[k - 1];
    }
    p->site_bytes[k] = b;
    p->site[k] = i;
  }
}

/* With busy held: one sum, a point if due (or forced), the peak if above.
 * total: live_total as the caller read it; over: it passed copy_above;
 * more: flushes follow (not the last point of the process or of a
 * snapshot's copy), so the next point's TSC bound is worth setting. */
static void record(bool point, bool over, double now, int64_t total, bool more)
{
  uint64_t bytes, blocks;
  uint32_t n = take_sum(&bytes, &blocks);
  if (!n) return;
  /* live_total has the blocks without a stack too (cell 0, which the
   * totals leave out): the next sum is due when the total passes the peak
   * by its slack plus what cell 0 holds now */
  int64_t none = (int64_t)cur.bytes_at[0];
  double t = now - t0;
  const uint64_t *live = cur.bytes_at;
  bool higher = consider_peak(n, bytes, blocks, t);
  peak_sums += over;
  peak_sums_stale += over && !higher;
  int64_t slack = (int64_t)(peak.bytes / RC_PEAK_SLACK), above = (int64_t)peak.bytes + slack + none;
  /* The total read above that bound, yet the sum found no new peak: other
   * threads hold frees not handed on (negative deltas of up to
   * RC_LIVE_DOWN_SPANS spans each). Until the next sum the bound is then
   * the slack above this reading, so that such a total costs one sum, not
   * one at every flush while it lasts (docs/over-time.md). */
  if (!higher && total > above) above = total + slack;
  __atomic_store_n(&hot.copy_above, above, __ATOMIC_RELAXED);
  if (point) {
    add_point(live, n, bytes, blocks, t);
    if (more && !tsc_asked) {
      tsc_asked = true;
      if (!invariant_tsc()) tsc0 = 0;
    }
    uint64_t tsc = more && tsc0 ? __rdtsc() : 0;
    double done = rc_now_ms(), cost = done - now;
    cost_ms = cost_ms > 0 && cost > 2 * cost_ms ? 2 * cost_ms : cost;
    double gap = interval_ms > cost_ms * SAMPLE_COST_FACTOR ? interval_ms : cost_ms * SAMPLE_COST_FACTOR;
    __atomic_store_n(&hot.next_us, (int64_t)((now + gap) * 1e3), __ATOMIC_RELAXED);
    double since = done - t0;
    if (tsc0 && tsc > tsc0 && since >= 1.0) {   /* TSC ticks a ms, measured over the whole run so far */
      double per_ms = (double)(tsc - tsc0) / since, ahead = now + gap - done;
      __atomic_store_n(&hot.tsc_next, ahead > 0 ? tsc + (uint64_t)(ahead * per_ms * 0.9) : 0, __ATOMIC_RELAXED);
    }
  }
}

/* The thread's delta starts again from zero with span above it and
 * RC_LIVE_DOWN_SPANS spans below (counters.h). */
static void reset_level(int64_t span)
{
  rc_me.span = span;
  rc_me.level = (uint64_t)(RC_LIVE_DOWN_SPANS * span);
  rc_me.level_max = (uint64_t)((RC_LIVE_DOWN_SPANS + 1) * span);
}

void rc_live_flush(void)
{
  int64_t d = rc_live_delta();
  reset_level(__atomic_load_n(&hot.flush_at, __ATOMIC_RELAXED));
  int64_t total = __atomic_add_fetch(&hot.live_total, d, __ATOMIC_RELAXED);
  bool new_peak = total > __atomic_load_n(&hot.copy_above, __ATOMIC_RELAXED);
  if (!new_peak && ++rc_me.tsc_skips < TSC_TRUST) {
    uint64_t tn = __atomic_load_n(&hot.tsc_next, __ATOMIC_RELAXED);
    if (tn && __rdtsc() < tn) return;   /* no point due yet */
  }
  rc_me.tsc_skips = 0;
  double now = rc_now_ms();   /* vDSO, ~20 ns; the coarse clock ticks every 4 ms, too slow for the first points */
  bool due = (int64_t)(now * 1e3) >= __atomic_load_n(&hot.next_us, __ATOMIC_RELAXED);
  if (!new_peak && !due) return;
  if (!rc_spin_trylock(&busy)) return;   /* another thread records: the next flush retries */
  record(due, new_peak, now, total, true);
  rc_spin_unlock(&busy);
}

void rc_timeline_mark(void)
{
  int64_t d = rc_live_delta();
  reset_level(rc_me.span);
  int64_t total = __atomic_add_fetch(&hot.live_total, d, __ATOMIC_RELAXED);
  if (rc_spin_lock_bounded(&busy, 1 << 20)) {
    record(true, false, rc_now_ms(), total, false);
    rc_spin_unlock(&busy);
  }
}

void rc_live_add_async(int64_t delta) { __atomic_add_fetch(&hot.live_total, delta, __ATOMIC_RELAXED); }

void rc_live_thread_exit(void)
{
  rc_me.last = 0;
  if (rc_live_delta()) rc_live_flush();
}

bool rc_timeline_lock(void) { return rc_spin_lock_bounded(&busy, 1 << 20); }
void rc_timeline_unlock(void) { rc_spin_unlock(&busy); }

void rc_peak_get(struct rc_peak *out)
{
  *out = (struct rc_peak){peak.t_ms, peak.bytes, peak.blocks, peak.n, peak.bytes_at, peak.blocks_at};
}

uint32_t rc_timeline_get(const struct rc_tl_point **p, double *interval)
{
  *p = pts;
  *interval = interval_ms;
  return npts;
}

uint64_t rc_timeline_samples(void) { return taken; }

void rc_timeline_peak_sums(uint64_t *sums, uint64_t *stale)
{
  *sums = peak_sums;
  *stale = peak_sums_stale;
}

uint64_t rc_timeline_memory(void)
{
  return sizeof pts + (uint64_t)cap * 4 * sizeof(uint64_t);
}

/* A forked child: the thread that held busy is gone. */
static void fork_child(void) { rc_spin_reset(&busy); }

__attribute__((constructor(102))) static void timeline_init(void)
{
  if (t0 == 0) t0 = rc_now_ms();
  /* read after t0 (here or at an earlier library's first malloc): ticks
   * over the run are then undercounted, if anything, and the bound early */
  tsc0 = __rdtsc();   /* kept only if invariant (tsc_asked) */
  rc_in_runtime++;
  pthread_atfork(NULL, NULL, fork_child);
  rc_in_runtime--;
}
