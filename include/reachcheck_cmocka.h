/* cmocka adapter: wrap a test in a leak scope; if it leaks, the test fails
 * (its teardown fails) with the leaked blocks' allocation stacks on stderr.
 * RC_ASSERT_* inside a test body fail that test.
 *
 *   #include <stdarg.h>
 *   #include <stddef.h>
 *   #include <setjmp.h>
 *   #include <cmocka.h>
 *   #include <reachcheck_cmocka.h>
 *
 *   const struct CMUnitTest tests[] = {
 *     RC_CMOCKA_UNIT_TEST(test_parse),
 *     RC_CMOCKA_UNIT_TEST(test_reload),
 *   };
 *   return cmocka_run_group_tests(tests, NULL, NULL);
 *
 * Tests with their own fixtures call reachcheck_cmocka_setup(state) first in
 * their setup and reachcheck_cmocka_teardown(state) last in their teardown.
 * Run the binary under `reachcheck -- ./tests` or link reachcheck::reachcheck. */
#ifndef REACHCHECK_CMOCKA_H
#define REACHCHECK_CMOCKA_H

#include "reachcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Failure hook: print the message through cmocka and fail the running test
 * (or fixture) with cmocka's _fail, which does not return. */
static inline void reachcheck_cmocka_hook(const char *file, int line, const char *assertion, const char *message)
{
  print_error("%s failed: %s\n", assertion, message);
  _fail(file, line);
}

static uint32_t reachcheck_cmocka_token;

/* Setup fixture: install the hook, open the test's scope. */
static inline int reachcheck_cmocka_setup(void **state)
{
  (void)state;
  reachcheck_set_failure_hook(reachcheck_cmocka_hook);
  reachcheck_cmocka_token = reachcheck_scope_token();
  return 0;
}

/* Teardown fixture: fail if a block allocated since the setup has leaked. */
static inline int reachcheck_cmocka_teardown(void **state)
{
  (void)state;
  return reachcheck_assert_no_leaks_since(reachcheck_cmocka_token, __FILE__, __LINE__,
                                          "reachcheck: the test leaked memory;") ? 0 : -1;
}

#define RC_CMOCKA_UNIT_TEST(f) cmocka_unit_test_setup_teardown(f, reachcheck_cmocka_setup, reachcheck_cmocka_teardown)

#ifdef __cplusplus
}
#endif
#endif
