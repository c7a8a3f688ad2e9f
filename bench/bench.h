/* Shared by the bench workloads. Built four ways by bench/run: plain gcc
 * (glibc, LSan preloaded, valgrind, reachcheck), clang -fsanitize=leak, and
 * with -DBENCH_BOEHM: Boehm GC's leak-detector mode, which redirects malloc
 * and friends at compile time (leak_detector.h) and finds leaks at
 * GC_gcollect (CHECK_LEAKS()).
 *
 * BENCH_NOCHECK=1 in the environment makes the Boehm variant skip its exit
 * check (_exit after main's work), so bench/run can split run time from
 * check time for it; the other tools use their own switches. */
#ifndef BENCH_H
#define BENCH_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef BENCH_BOEHM
#define GC_THREADS 1
#include <gc/leak_detector.h>
#define BENCH_INIT() do { GC_set_find_leak(1); GC_INIT(); } while (0)
/* CHECK_LEAKS() once, then _exit: Boehm's own atexit collection would run a
 * second full check. */
#define BENCH_RETURN(rc) do { fflush(NULL); if (!getenv("BENCH_NOCHECK")) CHECK_LEAKS(); fflush(NULL); _exit(rc); } while (0)
#else
#define BENCH_INIT() do { } while (0)
#define BENCH_RETURN(rc) return (rc)
#endif

/* Size from the command line (argv[i]) or default; "quick" runs pass smaller ones. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
  return argc > i ? strtol(argv[i], NULL, 0) : def;
}

/* Keep a pointer value opaque to the optimiser without storing it anywhere. */
static inline void bench_sink(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static inline uint64_t bench_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* Allocation goes through a few frames, as in real code, so that stack
 * capture has something to walk (depth ~5 below main). */
__attribute__((noinline)) static void *bench_alloc3(size_t n) { void *p = malloc(n); bench_sink(p); return p; }
__attribute__((noinline)) static void *bench_alloc2(size_t n) { return bench_alloc3(n); }
__attribute__((noinline)) static void *bench_alloc(size_t n) { return bench_alloc2(n); }
#endif
