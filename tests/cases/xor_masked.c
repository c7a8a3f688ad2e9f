/* A pointer kept only xor-masked (as some hash tables and "pointer
 * obfuscation" schemes do) is invisible to a conservative scanner: leaked.
 * Expect direct 1 block / 40 bytes. */
#include "rc_test.h"

uintptr_t g_masked;
#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)

RC_NOINLINE void hide(void)
{
  void *volatile p = malloc(40);
  g_masked = (uintptr_t)p ^ MASK;
  p = NULL;
}

int main(void)
{
  hide();
  rc_scrub();
  /* The program could still recover it: */
  RC_CHECK(((g_masked ^ MASK) & 15) == 0);
  return 0;
}
