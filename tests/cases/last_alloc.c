/* Allocator state must not act as a root: glibc's main_arena.top points 8
 * bytes before the end of the most recently allocated chunk, inside the user
 * block when the request is 8 mod 16. Leak blocks of such sizes, the last one
 * being the very last allocation before exit.
 * Expect direct 5 blocks / 24+40+56+72+1032 = 1224 bytes, indirect 0. */
#include "rc_test.h"

RC_NOINLINE void leak_n(size_t n)
{
  void *volatile p = malloc(n);
  memset(p, 0, n);
  p = NULL;
}

int main(void)
{
  leak_n(1032);
  leak_n(72);
  leak_n(56);
  leak_n(40);
  leak_n(24);
  rc_scrub();
  return 0;
}
