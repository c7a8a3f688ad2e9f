/* Test harness for core/stack/unwind.c: rcu_compare() unwinds its caller's stack
 * with rc_unwind and with libunwind's unw_backtrace and counts equal
 * results, clean fallbacks (-1) and mismatches. It also mallocs, so under
 * the runtime with RC_UNWIND_VERIFY=1 every capture is checked there too. */
#ifndef RCU_H
#define RCU_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __cplusplus
extern "C" {
#endif
#include "stack/unwind.h"

#define RCU_MAX 64
#define RCU_NOINLINE __attribute__((noinline))
static long rcu_equal, rcu_fallback, rcu_mismatch, rcu_deepest;

static void rcu_put(const char *tag, int i, uintptr_t pc)
{
  Dl_info di;
  if (dladdr((void *)(pc - 1), &di) && di.dli_fname)
    fprintf(stderr, "  %s #%d %#lx %s+%#lx %s\n", tag, i, (unsigned long)pc, di.dli_fname,
            (unsigned long)(pc - (uintptr_t)di.dli_fbase), di.dli_sname ? di.dli_sname : "?");
  else
    fprintf(stderr, "  %s #%d %#lx\n", tag, i, (unsigned long)pc);
}

/* Set by tests that dlclose: unw_backtrace's trace cache (libunwind 1.6.2)
 * is never flushed, so the reference is then an unw_step walk. */
static int rcu_slow_reference;
/* rcu_compare mallocs (a capture for the runtime) unless cleared: signal
 * handlers without the runtime must not (glibc's malloc is not
 * async-signal-safe). */
static int rcu_malloc = 1;

/* Compare both unwinders from the caller of rcu_compare_n up to max frames.
 * Returns 1 equal, 0 fallback, -1 mismatch (printed). */
static RCU_NOINLINE int rcu_compare_n(int max)
{
  uintptr_t a[RCU_MAX], ref[RCU_MAX];
  void *b[RCU_MAX + 1];
  if (max > RCU_MAX) max = RCU_MAX;
  int n = rc_unwind(a, max, 1);          /* a[0]: the caller of rcu_compare_n */
  int m = 0;
  if (rcu_slow_reference) {
    unw_context_t uc;
    unw_cursor_t c;
    unw_flush_cache(unw_local_addr_space, 0, 0);
    unw_getcontext(&uc);
    unw_init_local(&c, &uc);             /* at rcu_compare_n; a step is its caller */
    while (m < max && unw_step(&c) > 0) {
      unw_word_t ip;
      unw_get_reg(&c, UNW_REG_IP, &ip);
      if (ip < 0x4000) break;
      ref[m++] = (uintptr_t)ip;
    }
  } else {
    m = unw_backtrace(b, max + 1);       /* b[0]: rcu_compare_n itself */
    m = m > 0 ? m - 1 : 0;
    for (int i = 0; i < m; i++) ref[i] = (uintptr_t)b[i + 1];
  }
  if (rcu_malloc) {
    void *volatile blk = malloc(24);     /* a capture for the runtime, if preloaded */
    free(blk);
  }
  if (n < 0) {
    __atomic_fetch_add(&rcu_fallback, 1, __ATOMIC_RELAXED);
    return 0;
  }
  if (n == m && !memcmp(a, ref, sizeof a[0] * (size_t)n)) {
    __atomic_fetch_add(&rcu_equal, 1, __ATOMIC_RELAXED);
    if (n > rcu_deepest) rcu_deepest = n;
    return 1;
  }
  if (__atomic_fetch_add(&rcu_mismatch, 1, __ATOMIC_RELAXED) < 3) {
    fprintf(stderr, "MISMATCH: rc_unwind %d frames, libunwind %d frames\n", n, m);
    for (int i = 0; i < n || i < m; i++) {
      if (i < n) rcu_put("fast", i, a[i]);
      if (i < m) rcu_put("libunwind", i, ref[i]);
    }
  }
  return -1;
}
static RCU_NOINLINE int rcu_compare(void) { int r = rcu_compare_n(RCU_MAX); __asm__ volatile(""); return r; }

/* Exit status: 0 if no mismatch, enough comparisons ran, and (when
 * fallbacks are not expected) none happened. */
static int rcu_finish(const char *name, long min_equal, int fallbacks_ok)
{
  /* the runtime's copy prints the counters, not ours, unless we fell back */
  rc_unwind_verify = rcu_fallback && !fallbacks_ok;
  printf("%s: %ld equal, %ld fallback, %ld mismatch, deepest %ld frames\n", name, rcu_equal, rcu_fallback,
         rcu_mismatch, rcu_deepest);
  if (rcu_mismatch) return 1;
  if (rcu_equal < min_equal) { fprintf(stderr, "%s: only %ld equal comparisons\n", name, rcu_equal); return 1; }
  if (rcu_fallback && !fallbacks_ok) { fprintf(stderr, "%s: unexpected fallbacks\n", name); return 1; }
  return 0;
}

#ifdef __cplusplus
}
#endif
#endif
