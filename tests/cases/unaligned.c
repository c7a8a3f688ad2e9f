/* Pointers stored at odd offsets: a packed global struct holds block U1(24) at
 * offset 1, and a reachable block G(32) holds block U2(40) at offset 3.
 *   default (unaligned=0): U1 and U2 are leaked -> direct 3 blocks / 141
 *   unaligned=1:           both found           -> direct 1 / 77 */
#include "rc_test.h"

struct __attribute__((packed)) odd { char c; void *p; };
struct odd g_odd;
char *g_holder;

RC_NOINLINE void setup(void)
{
  g_odd.c = 1;
  g_odd.p = malloc(24);
  g_holder = malloc(32);
  memset(g_holder, 0, 32);
  void *u2 = malloc(40);
  memcpy(g_holder + 3, &u2, sizeof u2);
  u2 = NULL;
}

int main(void)
{
  RC_CHECK(((uintptr_t)&g_odd.p & 7) != 0);
  setup();
  rc_leak_known();
  rc_scrub();
  return 0;
}
