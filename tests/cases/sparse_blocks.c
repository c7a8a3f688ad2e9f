/* Big blocks used in part (heap/entry.c CALLOC_UNTOUCHED_FROM, check/mark.c
 * SPARSE_BLOCK):
 *   - calloc of 64 MiB, reachable from a global, one page written with the
 *     only pointer to a 45-byte block, 40 MiB in: the block is reachable,
 *     and neither the calloc nor an on-demand check faults the table in
 *     (its resident pages, by mincore: "calloc resident small" and
 *     "check resident unchanged");
 *   - calloc of 32 MiB, leaked, holding the only pointer to a 35-byte block
 *     20 MiB in: one direct leak of 32 MiB and one indirect of 35 bytes;
 *   - a calloc that reuses freed dirty memory reads zero ("reused zero");
 *   - and the known leak (77 bytes).
 * The exit report's retention pass (retain/owner.c) reads the table by its
 * populated chunks too: the global `table` retains 64 MiB + 45 bytes in 2
 * blocks, the 45-byte block found 40 MiB in. */
#include "rc_test.h"
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include "reachcheck.h"

#define TABLE (64u << 20)
#define LEAKED (32u << 20)
#define REUSED (8u << 20)
static char *table;

static long resident(const char *p, size_t len)
{
  static unsigned char vec[TABLE / 4096 + 2];
  uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095, hi = ((uintptr_t)p + len) & ~(uintptr_t)4095;
  RC_CHECK(mincore((void *)lo, hi - lo, vec) == 0);
  long n = 0;
  for (size_t i = 0; i < (hi - lo) / 4096; i++) n += vec[i] & 1;
  return n;
}

RC_NOINLINE static void plant(void)
{
  void *a = malloc(45), *b = malloc(35);
  RC_CHECK(a && b);
  memcpy(table + (40u << 20) + 8, &a, sizeof a);
  char *leaked = calloc(1, LEAKED);
  RC_CHECK(leaked != NULL);
  memcpy(leaked + (20u << 20) + 16, &b, sizeof b);
  a = b = NULL;
  leaked = NULL;
  rc_barrier(leaked);
}

RC_NOINLINE static int reused_zero(void)
{
  char *d = malloc(REUSED);
  RC_CHECK(d != NULL);
  memset(d, 0xab, REUSED);
  free(d);
  unsigned char *z = calloc(1, REUSED);
  RC_CHECK(z != NULL);
  int ok = 1;
  for (size_t i = 0; i < REUSED; i++) ok &= z[i] == 0;
  free(z);
  return ok;
}

int main(void)
{
  __typeof__(&reachcheck_check) check = (__typeof__(&reachcheck_check))dlsym(RTLD_DEFAULT, "reachcheck_check");
  RC_CHECK(check != NULL);
  table = calloc(1, TABLE);
  RC_CHECK(table != NULL);
  long fresh = resident(table, TABLE);
  /* a huge page or two may back the first write and the block's edges */
  printf("calloc resident %s\n", fresh <= 2 * 512 ? "small" : "large");
  plant();
  printf("reused %s\n", reused_zero() ? "zero" : "NOT ZERO");
  rc_leak_known();
  rc_scrub();
  long before = resident(table, TABLE);
  struct reachcheck_result r;
  long n = check(&r, 0);
  long after = resident(table, TABLE);
  printf("leaks %ld\n", n);
  if (after == before) printf("check resident unchanged\n");
  else printf("check resident grew by %ld pages\n", after - before);
  return 0;
}
