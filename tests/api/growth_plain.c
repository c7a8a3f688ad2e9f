/* RC_ASSERT_NO_GROWTH with the default hook replaced by one that counts
 * and prints: the caching handler passes, the appending one fails naming
 * g_audit_list, 48 bytes (1 block) per iteration and audit_append. */
#include <stdio.h>
#include "reachcheck.h"
#include "growth_handlers.h"

static int failures;

static void hook(const char *file, int line, const char *assertion, const char *message)
{
  (void)file;
  (void)line;
  failures++;
  printf("hook: %s failed: %s\n", assertion, message);
}

int main(void)
{
  reachcheck_set_failure_hook(hook);
  int i = 0;
  int caching = RC_ASSERT_NO_GROWTH(50, handle_caching(i++));
  printf("caching: %s after %d requests\n", caching ? "passed" : "failed", i);
  i = 0;
  int appending = RC_ASSERT_NO_GROWTH(50, handle_appending(i++));
  printf("appending: %s after %d requests\n", appending ? "passed" : "failed", i);
  printf("growth_plain: %d failure(s)\n", failures);
  return 0;
}
