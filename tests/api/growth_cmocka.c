/* RC_ASSERT_NO_GROWTH under cmocka (reachcheck_cmocka.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <reachcheck_cmocka.h>
#include "growth_handlers.h"

static void test_caching_handler(void **state)
{
  (void)state;
  int i = 0;
  RC_ASSERT_NO_GROWTH(50, handle_caching(i++));
}

static void test_appending_handler(void **state)
{
  (void)state;
  int i = 0;
  RC_ASSERT_NO_GROWTH(50, handle_appending(i++));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      RC_CMOCKA_UNIT_TEST(test_caching_handler),
      RC_CMOCKA_UNIT_TEST(test_appending_handler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
