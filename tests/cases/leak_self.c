/* A leaked block that points to itself (start and interior) is still a
 * direct leak: self-pointers do not count.
 * Expect direct 2 blocks (56 + known 77 = 133 bytes), indirect 0. */
#include "rc_test.h"

RC_NOINLINE void leak_self_helper(void)
{
  void **volatile p = malloc(56);
  memset((void *)p, 0, 56);
  p[0] = (void *)p;
  p[3] = (char *)p + 40;
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  leak_self_helper();
  rc_leak_known();
  rc_scrub();
  return 0;
}
