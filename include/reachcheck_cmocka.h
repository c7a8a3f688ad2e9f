/* cmocka adapter: wrap a test in a leak scope; if it leaks, the test fails
 * with the leaked blocks' allocation stacks on stderr.
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
 * RC_CMOCKA_UNIT_TEST uses the test's initial state (cmocka_unit_test_prestate)
 * to carry the test function; tests with their own fixtures or state use
 * reachcheck_cmocka_setup/teardown below instead.
 * Run the binary under `reachcheck -- ./tests` or link reachcheck::reachcheck. */
#ifndef REACHCHECK_CMOCKA_H
#define REACHCHECK_CMOCKA_H

#include <stdint.h>
#include <string.h>
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

/* The test wrapper of RC_CMOCKA_UNIT_TEST: *state carries the test function
 * (cmocka's initial_state). A leak fails the test itself. */
static inline void reachcheck_cmocka_run(void **state)
{
  void (*test)(void **);
  memcpy(&test, state, sizeof test);
  *state = NULL;
  reachcheck_set_failure_hook(reachcheck_cmocka_hook);
  uint32_t token = reachcheck_scope_token();
  test(state);
  reachcheck_assert_no_leaks_since(token, __FILE__, __LINE__, "reachcheck leak check of the test");
}

/* A cmocka_unit_test(f) whose leaks fail it. */
#define RC_CMOCKA_UNIT_TEST(f) {#f, reachcheck_cmocka_run, NULL, NULL, (void *)(uintptr_t)(f)}

/* For tests with their own fixtures: call reachcheck_cmocka_setup first in
 * the setup and reachcheck_cmocka_teardown last in the teardown. A leak then
 * fails the teardown (cmocka reports the test as ERROR). */
static uint32_t reachcheck_cmocka_token;

static inline int reachcheck_cmocka_setup(void **state)
{
  (void)state;
  reachcheck_set_failure_hook(reachcheck_cmocka_hook);
  reachcheck_cmocka_token = reachcheck_scope_token();
  return 0;
}

static inline int reachcheck_cmocka_teardown(void **state)
{
  (void)state;
  return reachcheck_assert_no_leaks_since(reachcheck_cmocka_token, __FILE__, __LINE__,
                                          "reachcheck leak check of the test") ? 0 : -1;
}

#ifdef __cplusplus
}
#endif
#endif
