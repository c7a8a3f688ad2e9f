/* Check (libcheck) adapter: a checked fixture makes every test of a TCase a
 * leak scope; a test that leaks fails, with the leaked blocks' allocation
 * stacks on stderr. RC_ASSERT_* inside a test body fail that test.
 *
 *   #include <check.h>
 *   #include <reachcheck_check.h>
 *
 *   TCase *tc = tcase_create("core");
 *   reachcheck_check_add_fixture(tc);
 *   tcase_add_test(tc, test_parse);
 *
 * Works in CK_FORK and CK_NOFORK mode. Run the binary under
 * `reachcheck -- ./tests` (with CK_FORK each test's child also runs the
 * exit-time report; --report=0 turns that off) or link reachcheck::reachcheck. */
#ifndef REACHCHECK_CHECK_H
#define REACHCHECK_CHECK_H

#include <check.h>
#include "reachcheck.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Failure hook: a Check failure at the assertion's file:line (does not return). */
static inline void reachcheck_check_hook(const char *file, int line, const char *assertion, const char *message)
{
  _ck_assert_failed(file, line, assertion, "%s failed: %s", assertion, message);
}

static uint32_t reachcheck_check_token;

static inline void reachcheck_check_setup(void)
{
  reachcheck_set_failure_hook(reachcheck_check_hook);
  reachcheck_check_token = reachcheck_scope_token();
}

static inline void reachcheck_check_teardown(void)
{
  reachcheck_assert_no_leaks_since(reachcheck_check_token, __FILE__, __LINE__, "reachcheck leak check of the test");
}

/* Add the leak-scope fixture to tc (a checked fixture: runs around each test,
 * in the test's process). */
static inline void reachcheck_check_add_fixture(TCase *tc)
{
  tcase_add_checked_fixture(tc, reachcheck_check_setup, reachcheck_check_teardown);
}

#ifdef __cplusplus
}
#endif
#endif
