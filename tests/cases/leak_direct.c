/* One directly leaked block: direct 1 block / 48 bytes, nothing else.
 * Also the base case for the text report, symbolization and exit status. */
#include "rc_test.h"

RC_NOINLINE void leak_direct_helper(void)
{
  char *volatile p = malloc(48);
  RC_CHECK(p != NULL);
  memset(p, 1, 48);
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  leak_direct_helper();
  rc_scrub();
  return 0;
}
