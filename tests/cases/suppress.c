/* Suppressions: leak_suppress_me() leaks 33 bytes, leak_keep() leaks 44.
 * With data/one.supp (leak:leak_suppress_me):
 *   direct 1 / 44, suppressed 1 / 33, exit 23
 * With data/all.supp (both functions): direct 0, suppressed 2 / 77, and the
 *   program's own exit status (0). */
#include "rc_test.h"

RC_NOINLINE void leak_suppress_me(void)
{
  void *volatile p = malloc(33);
  rc_barrier(p);
  p = NULL;
}

RC_NOINLINE void leak_keep(void)
{
  void *volatile p = malloc(44);
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  leak_suppress_me();
  leak_keep();
  rc_scrub();
  return 0;
}
