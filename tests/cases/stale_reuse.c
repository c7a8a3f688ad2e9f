/* Stale pointers in reused memory (what gdb does with charset names): a
 * vector of 30 string pointers is freed, which leaks the strings; malloc then
 * serves the same 256 bytes to a new owner that writes only its first 16
 * (an obstack-style header) and is kept by a global. Whatever malloc left in
 * the other 240 bytes is not the new owner's: the 30 strings must still be
 * leaks. (glibc leaves the old pointers there; a checker that does not clear
 * freed blocks, or scans them anyway, calls the strings reachable.)
 * The same through realloc: a 256-byte block holding 12 string pointers in
 * its last 96 bytes shrinks in place to 160 (dropping them: leaked) and grows
 * back to 256; the bytes that come back are not the program's either.
 * Expect direct 42 blocks / 42 * 24 bytes; both 256-byte blocks are reachable. */
#include "rc_test.h"

#define NSTR 30
#define BUF 256

void *g_chunk, *g_regrown;

RC_NOINLINE void make_and_drop_vector(void)
{
  char **volatile v = malloc(BUF);
  for (int i = 0; i < NSTR; i++) {
    v[i] = malloc(24);
    snprintf(v[i], 24, "charset-%d", i);
  }
  free(v);   /* the strings are leaked here, as in gdb's ~vector */
  v = NULL;
}

RC_NOINLINE void *reuse_chunk(void)
{
  uintptr_t *c = malloc(BUF);   /* the same size class: the freed vector, from the thread cache */
  c[0] = 0x1111;
  c[1] = BUF;
  return c;
}

RC_NOINLINE void *shrink_and_regrow(void)
{
  char **volatile v = calloc(1, BUF);
  for (int i = 20; i < 32; i++) {
    v[i] = malloc(24);
    snprintf(v[i], 24, "tail-%d", i);
  }
  char **w = realloc(v, 160);   /* in place: drops v[20..31] */
  RC_CHECK(w == v);
  w = realloc(w, BUF);          /* in place again */
  RC_CHECK(w == v);
  v = NULL;
  return w;
}

int main(void)
{
  make_and_drop_vector();
  g_chunk = reuse_chunk();
  g_regrown = shrink_and_regrow();
  rc_scrub();
  return 0;
}
