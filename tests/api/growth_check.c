/* RC_ASSERT_NO_GROWTH under Check (reachcheck_check.h). */
#include <stdlib.h>
#include <check.h>
#include <reachcheck_check.h>
#include "growth_handlers.h"

START_TEST(test_caching_handler)
{
  int i = 0;
  RC_ASSERT_NO_GROWTH(50, handle_caching(i++));
}
END_TEST

START_TEST(test_appending_handler)
{
  int i = 0;
  RC_ASSERT_NO_GROWTH(50, handle_appending(i++));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("growth");
  TCase *tc = tcase_create("handlers");
  reachcheck_check_add_fixture(tc);
  tcase_add_test(tc, test_caching_handler);
  tcase_add_test(tc, test_appending_handler);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
