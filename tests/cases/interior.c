/* Interior pointers keep blocks alive; bounds are the requested size.
 *  - K1 malloc(100), only pointer K1+50 in a global          -> reachable
 *  - K2 malloc(64), only pointer K2+63 (last byte)            -> reachable
 *  - Z1 malloc(0), pointer to its start in a global           -> reachable
 *  - P  malloc(64), only pointer P+64 (one past the end)      -> LEAKED 64
 *  - Z2 malloc(0), no pointer                                 -> LEAKED 0
 *  - A (leaked, 16) holds B+8 only, B malloc(24)              -> A direct, B indirect
 * Expect direct 3 blocks / 64+0+16 = 80 bytes, indirect 1 block / 24 bytes. */
#include "rc_test.h"

char *g_mid, *g_last, *g_zero, *g_past;

RC_NOINLINE void setup(void)
{
  char *k1 = malloc(100);
  g_mid = k1 + 50;
  char *k2 = malloc(64);
  g_last = k2 + 63;
  g_zero = malloc(0);
  RC_CHECK(g_zero != NULL);
  char *p = malloc(64);
  g_past = p + 64;
  void *volatile z2 = malloc(0);
  RC_CHECK(z2 != NULL);
  z2 = NULL;
  char **volatile a = malloc(16);
  char *b = malloc(24);
  a[0] = b + 8;
  a[1] = NULL;
  rc_barrier(a);
  a = NULL;
  k1 = k2 = p = b = NULL;
}

int main(void)
{
  setup();
  rc_scrub();
  return 0;
}
