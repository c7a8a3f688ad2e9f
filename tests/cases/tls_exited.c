/* An exited thread's __thread variables are dead: a block only they point to
 * is a leak, even though glibc keeps the thread's descriptor (and DTV) in its
 * stack cache. The thread also stores a block in a global before exiting:
 * that one stays reachable. Expect direct 2 (77 + 99 bytes), indirect 0. */
#include "rc_test.h"
#include <pthread.h>

static __thread void *t_only;
void *g_kept;

RC_NOINLINE static void *worker(void *arg)
{
  t_only = malloc(99);
  g_kept = malloc(55);
  RC_CHECK(t_only && g_kept);
  rc_scrub();
  return arg;
}

int main(void)
{
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  RC_CHECK(pthread_join(t, NULL) == 0);
  rc_leak_known();
  rc_scrub();
  return 0;
}
