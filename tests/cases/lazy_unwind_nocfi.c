/* Built without unwind tables (tests/cases/CMakeLists.txt): no FDE covers
 * this function, so a stack through it is libunwind's to walk (by rbp,
 * kept: -fno-omit-frame-pointer). */
#include "rc_test.h"

RC_NOINLINE void no_cfi_leak(void)
{
  char *volatile p = malloc(61);
  RC_CHECK(p != NULL);
  memset(p, 3, 61);
  rc_barrier(p);
  p = NULL;
}
