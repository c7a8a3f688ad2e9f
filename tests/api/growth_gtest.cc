// RC_ASSERT_NO_GROWTH under GoogleTest (reachcheck_gtest.h): the caching
// handler's test passes, the appending handler's test fails with the root,
// the bytes per iteration and the site.
#include <reachcheck_gtest.h>
#include "growth_handlers.h"

TEST(Growth, CachingHandler)
{
  int i = 0;
  EXPECT_TRUE(RC_ASSERT_NO_GROWTH(50, handle_caching(i++)));
}

TEST(Growth, AppendingHandler)
{
  int i = 0;
  RC_ASSERT_NO_GROWTH(50, handle_appending(i++));
}

int main(int argc, char **argv)
{
  ::testing::InitGoogleTest(&argc, argv);
  reachcheck::InstallGoogleTestListener();
  return RUN_ALL_TESTS();
}
