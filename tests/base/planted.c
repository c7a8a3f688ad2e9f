/* The program of the writer's link tests (planted.py): leaks exactly two
 * blocks (77 and 33 bytes, direct), then, as asked:
 *   planted                  exit
 *   planted snap PATH        reachcheck_snapshot(PATH); prints its result
 *   planted signal SIG       raises SIG (the runtime's snapshot_signal), then
 *                            waits for a line on stdin before it exits, so
 *                            the harness can wait for the snapshot's log line
 * The API is looked up at run time (the program runs under the launcher). */
#include "rc_test.h"
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>

RC_NOINLINE void leak33(void)
{
  void *volatile p = malloc(33);
  RC_CHECK(p != NULL);
  memset(p, 0x33, 33);
  rc_barrier(p);
  p = NULL;
}

int main(int argc, char **argv)
{
  rc_leak_known();
  leak33();
  rc_scrub();
  if (argc > 2 && !strcmp(argv[1], "snap")) {
    int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot");
    RC_CHECK(snap != NULL);
    errno = 0;
    int r = snap(argv[2]);
    printf("snapshot: %d errno %d\n", r, r ? errno : 0);
  } else if (argc > 2 && !strcmp(argv[1], "signal")) {
    RC_CHECK(raise(atoi(argv[2])) == 0);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) printf("no go-ahead on stdin\n");
  }
  printf("done\n");
  fflush(stdout);
  return 0;
}
