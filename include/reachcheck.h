/* reachcheck public API: ask the leak checker from inside the program.
 *
 * Every function is a weak-safe no-op when the runtime is not loaded only if
 * you use the RC_* macros below; the functions themselves live in
 * libreachcheck.so (LD_PRELOAD by `reachcheck -- prog`, or linked directly). */
#ifndef REACHCHECK_H
#define REACHCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REACHCHECK_API __attribute__((visibility("default")))

/* Result of a check. Bytes are requested sizes. */
struct reachcheck_result {
  uint64_t direct_blocks, direct_bytes;       /* leaked, not pointed to by another leak */
  uint64_t indirect_blocks, indirect_bytes;   /* leaked, pointed to by another leak */
  uint64_t reachable_blocks, reachable_bytes; /* still reachable from a root */
  uint64_t suppressed_blocks, suppressed_bytes;
  uint64_t ignored_blocks, ignored_bytes;     /* reachcheck_ignore()d or allocated while disabled */
};

/* 1 when libreachcheck is loaded and owns the heap, else 0. */
REACHCHECK_API int reachcheck_active(void);

/* Run a full check now (stops other threads for the mark phase). Fills *out
 * (may be NULL) and prints leaks on stderr when print != 0. Returns the
 * number of leaked blocks (direct + indirect, unsuppressed), or -1. */
REACHCHECK_API long reachcheck_check(struct reachcheck_result *out, int print);

/* Like reachcheck_check, but lists and counts only leaks not reported by an
 * earlier reachcheck_check_new call: usable in a loop or a daemon. */
REACHCHECK_API long reachcheck_check_new(struct reachcheck_result *out, int print);

/* The block containing p is never reported and is treated as a root. 0 on
 * success, -1 if p is not inside a live block. */
REACHCHECK_API int reachcheck_ignore(const void *p);

/* Blocks allocated by this thread between disable and enable are ignored
 * (nestable). For intentional leaks. */
REACHCHECK_API void reachcheck_disable(void);
REACHCHECK_API void reachcheck_enable(void);

/* ---- scopes (unit tests) ---- */
/* Start a leak scope: blocks allocated from now on, on any thread, belong to
 * it (and to every enclosing scope). Returns a token for scope_end. */
REACHCHECK_API uint32_t reachcheck_scope_begin(void);
/* Check now and count only blocks allocated since `token` that are leaked.
 * Fills *out (may be NULL); prints them when print != 0. Returns the number
 * of leaked blocks in the scope, or -1. */
REACHCHECK_API long reachcheck_scope_end(uint32_t token, struct reachcheck_result *out, int print);

/* 1 if the block containing p is reachable from a root now, 0 if it is
 * leaked, -1 if p is not inside a live block. Runs a full mark. */
REACHCHECK_API int reachcheck_is_reachable(const void *p);

/* ---- retention ---- */
/* Print on stderr the shortest path from a root to the block containing p:
 * the root's name, then each block on the way (size, offset of the pointer
 * in it, allocation site). If buf != NULL, also writes the path as one JSON
 * object into buf (NUL-terminated, truncated to len). Returns the number of
 * blocks on the path (>= 1), 0 if the block is unreachable, -1 if p is not
 * inside a live block. */
REACHCHECK_API int reachcheck_why(const void *p, char *buf, size_t len);

/* Write a heap snapshot (live blocks by allocation site, retained sizes by
 * root) as JSON to path (%p: pid). The marking runs in a forked copy; the
 * program is stopped only for the fork. Returns 0, or -1 with errno set. */
REACHCHECK_API int reachcheck_snapshot(const char *path);

/* ---- growth (docs/over-time.md) ---- */
/* Samples --watch=SECONDS has taken so far in this process (0 without it). */
REACHCHECK_API unsigned reachcheck_watch_count(void);
/* RC_ASSERT_NO_GROWTH's samples: phase 0, 1, 2 (each a forked analysis of
 * retained bytes per root and per top heap block); 0 or -1. */
REACHCHECK_API int reachcheck_growth_sample(unsigned phase);
/* After the three samples, `iterations` runs apart: 1 if a root or block
 * retained more at each sample than at the one before (msg names it, its
 * bytes per iteration and the site adding to it), 0 if none did, -1 if the
 * samples could not be taken. */
REACHCHECK_API int reachcheck_growth_result(unsigned long iterations, char *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif

/* ==== macros: leak assertions for unit tests ====
 *
 * RC_ASSERT_NO_LEAKS()            no leak that an earlier RC_ASSERT_NO_LEAKS /
 *                                 reachcheck_check_new did not already report
 * RC_LEAK_SCOPE_BEGIN()           declares this block's scope token
 * RC_ASSERT_NO_LEAKS_IN_SCOPE()   nothing allocated since RC_LEAK_SCOPE_BEGIN
 *                                 (on any thread) has leaked
 * RC_ASSERT_NO_LEAKS_SINCE(tok)   the same with an explicit reachcheck_scope_begin token
 * RC_ASSERT_REACHABLE(p)          the block containing p is reachable
 * RC_ASSERT_UNREACHABLE(p)        the block containing p has leaked
 * RC_ASSERT_LEAKED_BYTES(n)       exactly n bytes are leaked now (direct + indirect,
 *                                 unsuppressed, whole process)
 * RC_ASSERT_NO_GROWTH(n, stmt)    after a warm-up, nothing retains more after n
 *                                 runs of stmt and more again after n more
 *
 * Each evaluates to 1 when it passed (or was skipped) and 0 when it failed.
 * A failure prints the leaks on stderr (the format of the exit report,
 * limited to the scope), then calls the failure hook: abort() by default,
 * a test framework's failure in the adapters (reachcheck_cmocka.h,
 * reachcheck_check.h, reachcheck_gtest.h).
 *
 * Reachability of p ignores the calling thread's own stack and register
 * words that point into p's block: the caller necessarily holds p, so
 * RC_ASSERT_UNREACHABLE(p) asks whether anything else still does.
 *
 * The functions are looked up at run time (dlsym), so a test built with this
 * header alone runs both under `reachcheck -- ./test` and plain. Without the
 * runtime every assertion fails with a message saying so, unless
 * REACHCHECK_OPTIONS contains inactive_ok=1 or the test is compiled with
 * -DRC_INACTIVE_OK=1: then they pass, with one note on stderr. Define
 * REACHCHECK_LINKED (the CMake target and pkg-config file do) to call the
 * functions directly when the program links libreachcheck.
 *
 * Before checking, each assertion overwrites 16 KiB of dead stack below
 * itself and the caller-saved registers, so pointers left there by returned
 * functions do not keep leaked blocks alive. */
#if !defined(REACHCHECK_MACROS_H) && !defined(RC_RUNTIME)
#define REACHCHECK_MACROS_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RTLD_DEFAULT   /* <dlfcn.h> was included without _GNU_SOURCE */
#define RTLD_DEFAULT ((void *)0)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Called when an assertion fails, after the leaks were printed. `assertion`
 * is the macro as written ("RC_ASSERT_REACHABLE(p)"), `message` one line
 * saying what was found. The hook may return (the macro then evaluates to 0
 * and the program goes on), longjmp, throw or exit. */
typedef void (*reachcheck_failure_fn)(const char *file, int line, const char *assertion, const char *message);

/* The hook in force: one per process (a weak definition merged by the
 * linker), NULL for the default. */
__attribute__((weak)) reachcheck_failure_fn reachcheck_failure_hook_fn;
__attribute__((weak)) int reachcheck_inactive_noted;

/* The default hook: print "file:line: assertion failed: message", abort(). */
static inline void reachcheck_default_failure_hook(const char *file, int line, const char *assertion,
                                                   const char *message)
{
  fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, assertion, message);
  fflush(stderr);
  abort();
}

/* Install fn as the failure hook (NULL: the default). Returns the previous one. */
static inline reachcheck_failure_fn reachcheck_set_failure_hook(reachcheck_failure_fn fn)
{
  reachcheck_failure_fn old = reachcheck_failure_hook_fn;
  reachcheck_failure_hook_fn = fn;
  return old ? old : reachcheck_default_failure_hook;
}

/* Zero 16 KiB of dead stack below the caller and the caller-saved registers
 * (x86-64), so that copies of pointers left by functions that returned do
 * not count as references. Call it right before a check. */
__attribute__((noinline, unused)) static void reachcheck_scrub_stack(void)
{
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
#if defined(__x86_64__)
  __asm__ __volatile__("xor %%eax, %%eax\n\txor %%ecx, %%ecx\n\txor %%edx, %%edx\n\t"
                       "xor %%esi, %%esi\n\txor %%edi, %%edi\n\txor %%r8d, %%r8d\n\t"
                       "xor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
                       "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                       "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                       "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                       "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                       "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"
                       "pxor %%xmm15, %%xmm15\n\t"
                       :
                       :
                       : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
                         "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                         "xmm13", "xmm14", "xmm15", "memory");
  /* glibc's string functions keep data in ymm/zmm16-31 on AVX-512 machines */
  if (__builtin_cpu_supports("avx")) __asm__ __volatile__("vzeroall" ::: "memory");
  if (__builtin_cpu_supports("avx512f"))
    __asm__ __volatile__("vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
                         "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
                         "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
                         "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
                         "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
                         "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
                         "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
                         "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t" ::: "memory");
#endif
}

/* ---- implementation of the macros: not part of the API ---- */

/* The runtime's entry points, or NULL when it is not loaded. */
struct reachcheck_detail_rt {
  int (*active)(void);
  long (*check)(struct reachcheck_result *, int);
  long (*check_new)(struct reachcheck_result *, int);
  uint32_t (*scope_begin)(void);
  long (*scope_end)(uint32_t, struct reachcheck_result *, int);
  int (*is_reachable)(const void *);
};

static inline void reachcheck_detail_sym(void *fnptr, const char *name)
{
  void *p = dlsym(RTLD_DEFAULT, name);
  memcpy(fnptr, &p, sizeof p);   /* object to function pointer without a cast */
}

static inline int reachcheck_detail_get(struct reachcheck_detail_rt *rt)
{
#ifdef REACHCHECK_LINKED
  rt->active = reachcheck_active;
  rt->check = reachcheck_check;
  rt->check_new = reachcheck_check_new;
  rt->scope_begin = reachcheck_scope_begin;
  rt->scope_end = reachcheck_scope_end;
  rt->is_reachable = reachcheck_is_reachable;
#else
  reachcheck_detail_sym(&rt->active, "reachcheck_active");
  reachcheck_detail_sym(&rt->check, "reachcheck_check");
  reachcheck_detail_sym(&rt->check_new, "reachcheck_check_new");
  reachcheck_detail_sym(&rt->scope_begin, "reachcheck_scope_begin");
  reachcheck_detail_sym(&rt->scope_end, "reachcheck_scope_end");
  reachcheck_detail_sym(&rt->is_reachable, "reachcheck_is_reachable");
#endif
  return rt->active && rt->check && rt->check_new && rt->scope_begin && rt->scope_end && rt->is_reachable &&
         rt->active();
}

static inline void reachcheck_detail_fail(const char *file, int line, const char *assertion, const char *message)
{
  reachcheck_failure_fn hook = reachcheck_failure_hook_fn;
  (hook ? hook : reachcheck_default_failure_hook)(file, line, assertion, message);
}

/* Does REACHCHECK_OPTIONS hold inactive_ok=1 (or -DRC_INACTIVE_OK=1)? */
static inline int reachcheck_detail_inactive_ok(void)
{
#if defined(RC_INACTIVE_OK) && RC_INACTIVE_OK
  return 1;
#else
  const char *s = getenv("REACHCHECK_OPTIONS");
  while (s && *s) {
    size_t n = strcspn(s, ":");
    if (n == 13 && !strncmp(s, "inactive_ok=1", 13)) return 1;
    s += n;
    if (*s) s++;
  }
  return 0;
#endif
}

/* 1: the runtime is there, check. 0: it is not; the assertion failed
 * (*passed = 0) or is skipped (*passed = 1). */
static inline int reachcheck_detail_ready(struct reachcheck_detail_rt *rt, const char *file, int line,
                                          const char *assertion, int *passed)
{
  if (reachcheck_detail_get(rt)) return 1;
  if (reachcheck_detail_inactive_ok()) {
    if (!reachcheck_inactive_noted) {
      reachcheck_inactive_noted = 1;
      fprintf(stderr, "reachcheck: note: the runtime is not loaded; RC_ASSERT_* pass without checking "
                      "(inactive_ok)\n");
    }
    *passed = 1;
    return 0;
  }
  reachcheck_detail_fail(file, line, assertion,
                         "the reachcheck runtime is not loaded, nothing was checked: run the test under "
                         "`reachcheck -- PROGRAM` or link libreachcheck (REACHCHECK_OPTIONS=inactive_ok=1 "
                         "makes the RC_ASSERT_* macros pass without checking)");
  *passed = 0;
  return 0;
}

static inline int reachcheck_detail_leaks(long n, const struct reachcheck_result *r, const char *file, int line,
                                          const char *assertion)
{
  char msg[256];
  if (n < 0) {
    reachcheck_detail_fail(file, line, assertion, "the leak check could not run");
    return 0;
  }
  if (n == 0) return 1;
  snprintf(msg, sizeof msg, "%ld leaked block(s): %llu direct (%llu bytes), %llu indirect (%llu bytes)", n,
           (unsigned long long)r->direct_blocks, (unsigned long long)r->direct_bytes,
           (unsigned long long)r->indirect_blocks, (unsigned long long)r->indirect_bytes);
  reachcheck_detail_fail(file, line, assertion, msg);
  return 0;
}

/* Each assertion is a thin noinline entry that scrubs the dead stack, then
 * calls its body: the body's frame (uninitialized buffers included) is then
 * carved from zeroed stack and holds no stale pointer of the code under test. */
static __attribute__((noinline, unused)) int reachcheck_detail_no_leaks(const char *file, int line,
                                                                        const char *assertion)
{
  struct reachcheck_detail_rt rt;
  struct reachcheck_result r;
  int passed;
  if (!reachcheck_detail_ready(&rt, file, line, assertion, &passed)) return passed;
  return reachcheck_detail_leaks(rt.check_new(&r, 1), &r, file, line, assertion);
}

static __attribute__((noinline, unused)) int reachcheck_detail_no_leaks_since(uint32_t token, const char *file,
                                                                              int line, const char *assertion)
{
  struct reachcheck_detail_rt rt;
  struct reachcheck_result r;
  int passed;
  if (!reachcheck_detail_ready(&rt, file, line, assertion, &passed)) return passed;
  if (!token) {   /* the scope began before the runtime was there */
    reachcheck_detail_fail(file, line, assertion, "the scope was opened while the runtime was not loaded");
    return 0;
  }
  return reachcheck_detail_leaks(rt.scope_end(token, &r, 1), &r, file, line, assertion);
}

static __attribute__((noinline, unused)) int reachcheck_detail_reachable(const void *p, int want, const char *file,
                                                                         int line, const char *assertion)
{
  struct reachcheck_detail_rt rt;
  char msg[256];
  int passed;
  if (!reachcheck_detail_ready(&rt, file, line, assertion, &passed)) return passed;
  int r = rt.is_reachable(p);
  if (r == want) return 1;
  if (r < 0)
    snprintf(msg, sizeof msg, "%p is not inside a live heap block", p);
  else if (want)
    snprintf(msg, sizeof msg, "the block at %p is not reachable from any root: it has leaked", p);
  else
    snprintf(msg, sizeof msg, "the block at %p is still reachable (call reachcheck_why(p) to see from where)", p);
  reachcheck_detail_fail(file, line, assertion, msg);
  return 0;
}

static __attribute__((noinline, unused)) int reachcheck_detail_leaked_bytes(unsigned long long want, const char *file,
                                                                            int line, const char *assertion)
{
  struct reachcheck_detail_rt rt;
  struct reachcheck_result r;
  char msg[256];
  int passed;
  if (!reachcheck_detail_ready(&rt, file, line, assertion, &passed)) return passed;
  if (rt.check(&r, 0) < 0) {
    reachcheck_detail_fail(file, line, assertion, "the leak check could not run");
    return 0;
  }
  unsigned long long got = (unsigned long long)(r.direct_bytes + r.indirect_bytes);
  if (got == want) return 1;
  rt.check(&r, 1);
  snprintf(msg, sizeof msg, "expected %llu leaked byte(s), found %llu: %llu direct block(s) (%llu bytes), "
                            "%llu indirect (%llu bytes)",
           want, got, (unsigned long long)r.direct_blocks, (unsigned long long)r.direct_bytes,
           (unsigned long long)r.indirect_blocks, (unsigned long long)r.indirect_bytes);
  reachcheck_detail_fail(file, line, assertion, msg);
  return 0;
}

/* The assertions as functions (the RC_* macros call them with __FILE__ and
 * __LINE__; adapters call them directly). 1: passed or skipped, 0: failed. */
static __attribute__((noinline, unused)) int reachcheck_assert_no_leaks(const char *file, int line,
                                                                        const char *assertion)
{
  reachcheck_scrub_stack();
  return reachcheck_detail_no_leaks(file, line, assertion);
}

static __attribute__((noinline, unused)) int reachcheck_assert_no_leaks_since(uint32_t token, const char *file,
                                                                              int line, const char *assertion)
{
  reachcheck_scrub_stack();
  return reachcheck_detail_no_leaks_since(token, file, line, assertion);
}

static __attribute__((noinline, unused)) int reachcheck_assert_reachable(const void *p, int want, const char *file,
                                                                         int line, const char *assertion)
{
  reachcheck_scrub_stack();
  return reachcheck_detail_reachable(p, want, file, line, assertion);
}

static __attribute__((noinline, unused)) int reachcheck_assert_leaked_bytes(unsigned long long want,
                                                                            const char *file, int line,
                                                                            const char *assertion)
{
  reachcheck_scrub_stack();
  return reachcheck_detail_leaked_bytes(want, file, line, assertion);
}

/* ---- RC_ASSERT_NO_GROWTH ---- */
#ifndef RC_GROWTH_WARMUP
#define RC_GROWTH_WARMUP 3   /* runs before the first sample: caches fill, lazy buffers appear */
#endif
struct reachcheck_growth_run {
  unsigned long iterations, i;
  const char *file, *assertion;
  int line, passed, ready;
  int (*sample)(unsigned);
  int (*result)(unsigned long, char *, size_t);
};

static __attribute__((noinline, unused)) int reachcheck_detail_growth_sample(struct reachcheck_growth_run *g,
                                                                             unsigned phase)
{
  reachcheck_scrub_stack();
  return g->sample(phase);
}

static __attribute__((noinline, unused)) void reachcheck_detail_growth_begin(struct reachcheck_growth_run *g,
                                                                             unsigned long iterations,
                                                                             const char *file, int line,
                                                                             const char *assertion)
{
  struct reachcheck_detail_rt rt;
  memset(g, 0, sizeof *g);
  g->iterations = iterations ? iterations : 1;
  g->file = file;
  g->line = line;
  g->assertion = assertion;
  g->passed = 1;
  if (!reachcheck_detail_ready(&rt, file, line, assertion, &g->passed)) return;
#ifdef REACHCHECK_LINKED
  g->sample = reachcheck_growth_sample;
  g->result = reachcheck_growth_result;
#else
  reachcheck_detail_sym(&g->sample, "reachcheck_growth_sample");
  reachcheck_detail_sym(&g->result, "reachcheck_growth_result");
#endif
  if (!g->sample || !g->result) {
    reachcheck_detail_fail(file, line, assertion, "this reachcheck runtime has no growth check (too old)");
    g->passed = 0;
    return;
  }
  g->ready = 1;
}

/* Called before each run of the statement: 1 runs it once more, 0 ends the
 * loop (after the third sample, with the verdict in g->passed). */
static __attribute__((noinline, unused)) int reachcheck_detail_growth_step(struct reachcheck_growth_run *g)
{
  if (!g->ready) return 0;
  unsigned long w = RC_GROWTH_WARMUP, n = g->iterations;
  int ok = 1;
  if (g->i == w) ok = reachcheck_detail_growth_sample(g, 0) == 0;
  else if (g->i == w + n) ok = reachcheck_detail_growth_sample(g, 1) == 0;
  else if (g->i == w + 2 * n) {
    char msg[1024];
    ok = reachcheck_detail_growth_sample(g, 2) == 0;
    int r = ok ? g->result(n, msg, sizeof msg) : -1;
    g->ready = 0;
    if (r < 0) {
      reachcheck_detail_fail(g->file, g->line, g->assertion, "the growth samples could not be taken");
      g->passed = 0;
    } else if (r > 0) {
      reachcheck_detail_fail(g->file, g->line, g->assertion, msg);
      g->passed = 0;
    }
    return 0;
  }
  if (!ok) {
    g->ready = 0;
    reachcheck_detail_fail(g->file, g->line, g->assertion, "the growth samples could not be taken");
    g->passed = 0;
    return 0;
  }
  g->i++;
  return 1;
}

/* Token for reachcheck_assert_no_leaks_since; 0 without the runtime. */
static inline uint32_t reachcheck_scope_token(void)
{
  struct reachcheck_detail_rt rt;
  return reachcheck_detail_get(&rt) ? rt.scope_begin() : 0;
}

#define RC_ASSERT_NO_LEAKS() reachcheck_assert_no_leaks(__FILE__, __LINE__, "RC_ASSERT_NO_LEAKS()")
#define RC_LEAK_SCOPE_BEGIN() \
  __attribute__((unused)) const uint32_t reachcheck_scope_token_here = reachcheck_scope_token()
#define RC_ASSERT_NO_LEAKS_IN_SCOPE() \
  reachcheck_assert_no_leaks_since(reachcheck_scope_token_here, __FILE__, __LINE__, "RC_ASSERT_NO_LEAKS_IN_SCOPE()")
#define RC_ASSERT_NO_LEAKS_SINCE(token) \
  reachcheck_assert_no_leaks_since((token), __FILE__, __LINE__, "RC_ASSERT_NO_LEAKS_SINCE(" #token ")")
#define RC_ASSERT_REACHABLE(p) reachcheck_assert_reachable((p), 1, __FILE__, __LINE__, "RC_ASSERT_REACHABLE(" #p ")")
#define RC_ASSERT_UNREACHABLE(p) \
  reachcheck_assert_reachable((p), 0, __FILE__, __LINE__, "RC_ASSERT_UNREACHABLE(" #p ")")
#define RC_ASSERT_LEAKED_BYTES(n) \
  reachcheck_assert_leaked_bytes((unsigned long long)(n), __FILE__, __LINE__, "RC_ASSERT_LEAKED_BYTES(" #n ")")
/* Runs the statement RC_GROWTH_WARMUP times, samples, `iterations` times,
 * samples, `iterations` times, samples; fails naming the root (or heap
 * block), the bytes per iteration and the allocation site if anything
 * retained more at each sample than at the one before. An expression (GNU
 * statement expression): 1 passed or skipped, 0 failed. */
#define RC_ASSERT_NO_GROWTH(iterations, ...)                                                              \
  __extension__({                                                                                         \
    struct reachcheck_growth_run reachcheck_growth_here;                                                \
    reachcheck_detail_growth_begin(&reachcheck_growth_here, (unsigned long)(iterations), __FILE__, __LINE__, \
                                   "RC_ASSERT_NO_GROWTH(" #iterations ", " #__VA_ARGS__ ")");             \
    while (reachcheck_detail_growth_step(&reachcheck_growth_here)) { __VA_ARGS__; }                       \
    reachcheck_growth_here.passed;                                                                        \
  })

#ifdef __cplusplus
}
#endif
#endif /* REACHCHECK_MACROS_H */
