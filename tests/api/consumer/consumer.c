/* Leaks 40 bytes inside a scope and checks that the assertions see exactly
 * that: prints "consumer (linked|preloaded): ok" on success. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <reachcheck.h>

static char seen[512];

static void hook(const char *file, int line, const char *assertion, const char *message)
{
  (void)file;
  (void)line;
  snprintf(seen, sizeof seen, "%s: %s", assertion, message);
}

__attribute__((noinline)) static void leak40(void)
{
  void *volatile p = malloc(40);
  memset(p, 1, 40);
  p = NULL;
}

int main(void)
{
#ifdef REACHCHECK_LINKED
  const char *how = "linked";
#else
  const char *how = "preloaded";
#endif
  reachcheck_set_failure_hook(hook);
  RC_LEAK_SCOPE_BEGIN();
  leak40();
  int scope_passed = RC_ASSERT_NO_LEAKS_IN_SCOPE();
  int bytes_passed = RC_ASSERT_LEAKED_BYTES(40);
  if (scope_passed || !bytes_passed ||
      strcmp(seen, "RC_ASSERT_NO_LEAKS_IN_SCOPE(): 1 leaked block(s): 1 direct (40 bytes), 0 indirect (0 bytes)")) {
    printf("consumer (%s): FAILED: scope %d, bytes %d, hook saw '%s'\n", how, scope_passed, bytes_passed, seen);
    return 1;
  }
  printf("consumer (%s): ok\n", how);
  return 0;
}
