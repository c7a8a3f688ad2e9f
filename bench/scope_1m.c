/* Scoped leak check on a process with N live blocks (default 1M): the cost
 * of RC_LEAK_SCOPE_BEGIN / RC_ASSERT_NO_LEAKS_IN_SCOPE in a big test process.
 * usage: reachcheck --report=0 -- scope_1m [N] [REPEAT]
 * Prints one line per scoped check and the best time:
 *   scope_1m: N live blocks, scope_end found 1 leak(s) in X ms (best of REPEAT)
 * Each scope allocates 100 blocks and leaks exactly one; the check must find it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void **scope_roots;   /* global root: every live block is reachable */

static double now_ms(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

__attribute__((noinline)) static void scope_work(void)
{
  void *volatile keep[100];
  for (int i = 0; i < 100; i++) keep[i] = malloc(32);
  for (int i = 1; i < 100; i++) free(keep[i]);
  keep[0] = NULL;   /* leaked */
}

__attribute__((noinline)) static void scrub(void)
{
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

int main(int argc, char **argv)
{
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  int repeat = argc > 2 ? atoi(argv[2]) : 5;
  uint32_t (*begin)(void) = (uint32_t(*)(void))dlsym(RTLD_DEFAULT, "reachcheck_scope_begin");
  long (*end)(uint32_t, void *, int) = (long (*)(uint32_t, void *, int))dlsym(RTLD_DEFAULT, "reachcheck_scope_end");
  if (!begin || !end) {
    fprintf(stderr, "scope_1m: run it under reachcheck (reachcheck --report=0 -- %s)\n", argv[0]);
    return 2;
  }
  scope_roots = malloc((size_t)n * sizeof(void *));
  for (long i = 0; i < n; i++) scope_roots[i] = malloc(16 + (size_t)(i & 3) * 16);
  double best = 1e30;
  long found = -1;
  for (int r = 0; r < repeat; r++) {
    uint32_t tok = begin();
    scope_work();
    scrub();
    double t0 = now_ms();
    found = end(tok, NULL, 0);
    double ms = now_ms() - t0;
    printf("scope_1m: run %d: %.1f ms, %ld leak(s)\n", r, ms, found);
    if (found != 1) {
      fprintf(stderr, "scope_1m: expected exactly 1 leak in the scope, got %ld\n", found);
      return 1;
    }
    if (ms < best) best = ms;
  }
  printf("scope_1m: %ld live blocks, scope_end found %ld leak(s) in %.1f ms (best of %d)\n", n + 1, found, best,
         repeat);
  return 0;
}
