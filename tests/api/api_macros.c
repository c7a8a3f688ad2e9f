/* The RC_ASSERT_* macros with a recording failure hook, built with the
 * header alone (the functions are found with dlsym) and run under the
 * launcher. Each assertion's outcome is exact: which ones fail, with what. */
#include "../rc_test.h"
#include <reachcheck.h>

static int failures;
static char last_assertion[128], last_message[512];

static void record(const char *file, int line, const char *assertion, const char *message)
{
  failures++;
  snprintf(last_assertion, sizeof last_assertion, "%s", assertion);
  snprintf(last_message, sizeof last_message, "%s", message);
  printf("hook: %s:%d: %s: %s\n", strrchr(file, '/') ? strrchr(file, '/') + 1 : file, line, assertion, message);
}

static void expect_fail(int passed, const char *assertion, const char *message_part)
{
  static int seen;
  if (passed || failures != ++seen || strcmp(last_assertion, assertion) || !strstr(last_message, message_part)) {
    fprintf(stderr, "want a failure of %s mentioning '%s'; got passed=%d failures=%d '%s': '%s'\n", assertion,
            message_part, passed, failures, last_assertion, last_message);
    rc_fail("expect_fail");
  }
}

static RC_NOINLINE void leak(size_t n)
{
  void *volatile p = malloc(n);
  memset(p, 4, n);
  p = NULL;
}

void *global_block;

int main(void)
{
  reachcheck_failure_fn old = reachcheck_set_failure_hook(record);
  RC_CHECK(old == reachcheck_default_failure_hook);
  rc_leak_known();

  {
    RC_LEAK_SCOPE_BEGIN();
    leak(40);
    expect_fail(RC_ASSERT_NO_LEAKS_IN_SCOPE(), "RC_ASSERT_NO_LEAKS_IN_SCOPE()", "1 leaked block(s): 1 direct (40 bytes)");
  }
  {
    RC_LEAK_SCOPE_BEGIN();
    free(malloc(40));
    global_block = malloc(64);
    RC_CHECK(RC_ASSERT_NO_LEAKS_IN_SCOPE() == 1);
  }
  uint32_t token = reachcheck_scope_token();
  leak(8);
  expect_fail(RC_ASSERT_NO_LEAKS_SINCE(token), "RC_ASSERT_NO_LEAKS_SINCE(token)", "1 direct (8 bytes)");

  /* Whole process: the first assertion reports what is new (77 + 40 + 8),
   * the second finds nothing new. */
  expect_fail(RC_ASSERT_NO_LEAKS(), "RC_ASSERT_NO_LEAKS()", "3 leaked block(s): 3 direct (125 bytes)");
  RC_CHECK(RC_ASSERT_NO_LEAKS() == 1);
  leak(5);
  expect_fail(RC_ASSERT_NO_LEAKS(), "RC_ASSERT_NO_LEAKS()", "1 leaked block(s): 1 direct (5 bytes)");

  RC_CHECK(RC_ASSERT_LEAKED_BYTES(77 + 40 + 8 + 5) == 1);
  expect_fail(RC_ASSERT_LEAKED_BYTES(5), "RC_ASSERT_LEAKED_BYTES(5)", "expected 5 leaked byte(s), found 130");

  RC_CHECK(RC_ASSERT_REACHABLE(global_block) == 1);
  expect_fail(RC_ASSERT_UNREACHABLE(global_block), "RC_ASSERT_UNREACHABLE(global_block)", "is still reachable");
  void *volatile local = global_block;
  global_block = NULL;
  RC_CHECK(RC_ASSERT_UNREACHABLE(local) == 1);
  expect_fail(RC_ASSERT_REACHABLE(local), "RC_ASSERT_REACHABLE(local)", "has leaked");
  free(local);
  local = NULL;
  int on_stack;
  expect_fail(RC_ASSERT_REACHABLE(&on_stack), "RC_ASSERT_REACHABLE(&on_stack)", "is not inside a live heap block");

  RC_CHECK(reachcheck_set_failure_hook(NULL) == record);
  printf("api_macros: ok, %d failures\n", failures);
  return 0;
}
