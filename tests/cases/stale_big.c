/* Stale pointers in reused large blocks (core/heap/alloc.c): a 512 KiB
 * table holding 64 string pointers, one every 8 KiB, is freed, which leaks
 * the strings; the same size is asked for again and served from the same
 * memory to a new owner that writes only its first 16 bytes and is kept by
 * a global. Freed blocks from 128 KiB to 2 MiB are cleared on their
 * resident pages, larger ones give their pages back: either way the old
 * pointers must not survive into the new block, and the 64 strings (and 64
 * more through a 3 MiB table) are leaks. The program prints whether each
 * size came back at the same address, so a change in Boehm's reuse shows up
 * as a failed expectation, not as a test that no longer tests anything.
 * Expect direct 128 blocks / 128 * 24 bytes; both new tables reachable. */
#include "rc_test.h"

#define NSTR 64

void *g_small, *g_large;

RC_NOINLINE void *fill_and_drop(size_t size)
{
  char **volatile t = malloc(size);
  size_t stride = size / NSTR / sizeof(char *);
  for (int i = 0; i < NSTR; i++) {
    t[i * stride] = malloc(24);
    snprintf(t[i * stride], 24, "name-%d", i);
  }
  void *where = (void *)t;
  free(t);   /* the strings leak here */
  t = NULL;
  return where;
}

RC_NOINLINE void *reuse(size_t size)
{
  long *p = malloc(size);
  p[0] = 1;   /* a 16-byte header, the rest never written */
  p[1] = 2;
  return p;
}

int main(void)
{
  void *old = fill_and_drop(512 << 10);
  g_small = reuse(512 << 10);
  printf("512k reused %d\n", g_small == old);
  old = fill_and_drop(3 << 20);
  g_large = reuse(3 << 20);
  printf("3m reused %d\n", g_large == old);
  old = NULL;
  rc_scrub();
  return 0;
}
