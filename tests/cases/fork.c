/* fork: the child inherits the block table and reports for itself, at its
 * own exit, with its own pid (json=...%p).
 * parent: leaks the known block before fork -> direct 1 / 77
 * child:  inherits that leak and leaks 66 more -> direct 2 / 143 */
#include "rc_test.h"
#include <sys/wait.h>

RC_NOINLINE void leak66(void)
{
  void *volatile p = malloc(66);
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  rc_announce("parent");
  rc_leak_known();
  rc_scrub();
  pid_t pid = fork();
  RC_CHECK(pid >= 0);
  if (pid == 0) {
    rc_announce("child");
    for (int i = 0; i < 100; i++) free(malloc((size_t)i));
    leak66();
    rc_scrub();
    exit(0);
  }
  int st;
  RC_CHECK(waitpid(pid, &st, 0) == pid);
  RC_CHECK(WIFEXITED(st));
  rc_scrub();
  return 0;
}
