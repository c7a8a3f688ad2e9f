/* Every way out runs the check. Modes:
 *   return   main returns 0; block G(120) is kept in a global
 *   exit     main calls exit(0) while holding block M(121) in a volatile local
 *   thread   a non-main thread calls exit(0) while main is blocked in
 *            pthread_join holding M(121) in a volatile local; the exiting
 *            thread holds T(122) in its own local. Main's stack must be
 *            scanned from main's saved stack pointer.
 *   status N the program leaks the known block and exits with status N
 *   noleak N no leak at all; exits with status N
 * The first three leak only the known block: direct 1 / 77. */
#include "rc_test.h"
#include <pthread.h>

void *g_keep;
void *g_handoff;

RC_NOINLINE void alloc_it(size_t n) { g_handoff = malloc(n); }

void *exiter(void *arg)
{
  alloc_it(122);
  void *volatile t = g_handoff;
  g_handoff = 0;
  rc_scrub();
  usleep(100000);   /* main is in pthread_join by now */
  exit(0);
  return (void *)t;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "return";
  if (strcmp(mode, "status") == 0 || strcmp(mode, "noleak") == 0) {
    int st = argc > 2 ? atoi(argv[2]) : 0;
    if (mode[0] == 's') rc_leak_known();
    void *volatile x = malloc(10);
    free(x);
    x = NULL;
    rc_scrub();
    exit(st);
  }
  rc_leak_known();
  if (strcmp(mode, "return") == 0) {
    alloc_it(120);
    g_keep = g_handoff;
    g_handoff = 0;
    rc_scrub();
    return 0;
  }
  alloc_it(121);
  void *volatile m = g_handoff;
  g_handoff = 0;
  rc_scrub();
  if (strcmp(mode, "exit") == 0) exit(0);
  if (strcmp(mode, "thread") == 0) {
    pthread_t t;
    RC_CHECK(pthread_create(&t, NULL, exiter, NULL) == 0);
    pthread_join(t, NULL);
    rc_fail("pthread_join returned");
  }
  rc_fail("unknown mode");
  return (int)(uintptr_t)m;
}
