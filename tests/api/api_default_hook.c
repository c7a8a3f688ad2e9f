/* The default failure hook: a scope that leaks prints the leak with its
 * allocation stack and aborts. Also the program of the "runtime not loaded"
 * tests: run plain it must fail at its first assertion, or pass every
 * assertion with a note under inactive_ok. */
#include "../rc_test.h"
#include <reachcheck.h>

static RC_NOINLINE void leak_in_scope_helper(void)
{
  void *volatile p = malloc(40);   /* SCOPE-LEAK */
  memset(p, 5, 40);
  p = NULL;
}

int main(void)
{
  rc_leak_known();   /* outside the scope: must not be listed by it */
  RC_ASSERT_LEAKED_BYTES(77);
  puts("leaked bytes: checked");
  fflush(stdout);
  RC_LEAK_SCOPE_BEGIN();
  leak_in_scope_helper();
  RC_ASSERT_NO_LEAKS_IN_SCOPE();
  puts("scope: checked");
  return 0;
}
