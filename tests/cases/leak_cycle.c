/* A pure cycle of leaked blocks X(24) <-> Y(40) <-> ... plus a 3-cycle
 * P(16)->Q(16)->R(16)->P, nothing points at them from outside: every block of a
 * pure cycle is indirect. Plus the known block (direct).
 * Expect direct 1 / 77, indirect 5 blocks / 24+40+48 = 112 bytes. */
#include "rc_test.h"

RC_NOINLINE void leak_two_cycle(void)
{
  void **volatile x = malloc(24);
  void **volatile y = malloc(40);
  memset((void *)x, 0, 24);
  memset((void *)y, 0, 40);
  x[0] = (void *)y;
  y[2] = (void *)x;
  rc_barrier(x);
  x = y = NULL;
}

RC_NOINLINE void leak_three_cycle(void)
{
  void **volatile p = calloc(2, 8);
  void **volatile q = calloc(2, 8);
  void **volatile r = calloc(2, 8);
  p[1] = (void *)q;
  q[1] = (void *)r;
  r[0] = (void *)p;
  rc_barrier(p);
  p = q = r = NULL;
}

int main(void)
{
  leak_two_cycle();
  leak_three_cycle();
  rc_leak_known();
  rc_scrub();
  return 0;
}
