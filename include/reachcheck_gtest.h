/* GoogleTest adapter: every test is a leak scope; a test that leaves a leaked
 * block behind fails, with the block's allocation stack on stderr. RC_ASSERT_*
 * inside a test body add a non-fatal failure to that test.
 *
 *   int main(int argc, char **argv) {
 *     ::testing::InitGoogleTest(&argc, argv);
 *     reachcheck::InstallGoogleTestListener();
 *     return RUN_ALL_TESTS();
 *   }
 *
 * With gtest_main, install it from a static initializer instead:
 *   static const bool rc_installed = reachcheck::InstallGoogleTestListener();
 *
 * Run the test binary under `reachcheck -- ./tests` or link reachcheck::reachcheck.
 * The check runs after the fixture's TearDown and destructor, so memory a
 * fixture frees there is not a leak. */
#ifndef REACHCHECK_GTEST_H
#define REACHCHECK_GTEST_H

#include <gtest/gtest.h>
#include "reachcheck.h"

namespace reachcheck {

/* Failure hook: a non-fatal GoogleTest failure at the assertion's file:line. */
inline void GoogleTestFailureHook(const char *file, int line, const char *assertion, const char *message)
{
  ADD_FAILURE_AT(file, line) << assertion << " failed: " << message;
}

/* A leak scope around each test. OnTestEnd listeners run in reverse order of
 * installation, so this one reports before the result printer prints the
 * test's verdict. */
class LeakCheckListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo &) override { token_ = reachcheck_scope_token(); }
  void OnTestEnd(const ::testing::TestInfo &info) override
  {
    if (info.result()->Skipped()) return;
    reachcheck_assert_no_leaks_since(token_, info.file(), info.line(), "reachcheck leak check of the test");
  }

 private:
  uint32_t token_ = 0;
};

/* Install the failure hook and the listener (owned by GoogleTest). Returns
 * true, for use in a static initializer. */
inline bool InstallGoogleTestListener()
{
  reachcheck_set_failure_hook(GoogleTestFailureHook);
  ::testing::UnitTest::GetInstance()->listeners().Append(new LeakCheckListener);
  return true;
}

}  // namespace reachcheck

#endif
