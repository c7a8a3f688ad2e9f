/* Freed memory is never scanned. A freed 1 GiB block whose first pages are
 * full of pointers to B(32), and a freed small block A(64) holding pointers
 * to C(48): B and C are leaked. Freeing and checking must be cheap.
 * Expect direct 2 blocks / 80 bytes, indirect 0. */
#include "rc_test.h"

RC_NOINLINE void setup(void)
{
  void *b = malloc(32);
  void *c = malloc(48);
  size_t big = (size_t)1 << 30;
  void **huge = malloc(big);
  RC_CHECK(huge != NULL);
  for (size_t i = 0; i < 8192; i++) huge[i] = b;
  free(huge);
  void **a = malloc(64);
  for (int i = 0; i < 8; i++) a[i] = c;
  free(a);
  /* churn so the freed small block may sit in a per-thread cache */
  for (int i = 0; i < 100; i++) free(malloc(64));
  b = c = NULL;
  huge = a = NULL;
}

int main(void)
{
  setup();
  rc_scrub();
  return 0;
}
