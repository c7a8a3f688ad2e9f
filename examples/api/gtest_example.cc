// GoogleTest with the reachcheck listener: LeakDemo.Leaks forgets to free a
// session and fails with the session's allocation stack; LeakDemo.Clean passes.
//   reachcheck -- ./api_gtest_example
#include <cstdlib>
#include <cstring>
#include <reachcheck_gtest.h>

struct Session {
  char user[32];
  int *scores;
};

__attribute__((noinline)) static Session *session_open(const char *user)
{
  Session *s = static_cast<Session *>(std::calloc(1, sizeof *s));
  std::strncpy(s->user, user, sizeof s->user - 1);
  s->scores = new int[8]();
  return s;
}

__attribute__((noinline)) static void session_close(Session *s)
{
  delete[] s->scores;
  std::free(s);
}

__attribute__((noinline)) static int session_score(const char *user, bool close)
{
  Session *s = session_open(user);
  s->scores[0] = 42;
  int v = s->scores[0];
  if (close) session_close(s);   // the leaking path forgets this
  return v;
}

TEST(LeakDemo, Leaks) { EXPECT_EQ(42, session_score("alice", false)); }

TEST(LeakDemo, Clean) { EXPECT_EQ(42, session_score("bob", true)); }

int main(int argc, char **argv)
{
  ::testing::InitGoogleTest(&argc, argv);
  reachcheck::InstallGoogleTestListener();
  return RUN_ALL_TESTS();
}
