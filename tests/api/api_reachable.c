/* reachcheck_is_reachable(): the calling thread's own references to the
 * block do not count; everything else does (globals, heap, other threads). */
#include "../rc_test.h"
#include <pthread.h>
#include <reachcheck.h>

struct pair { void *a, *b; };
struct pair *root;              /* global root */
static pthread_barrier_t hold, done;
static void *volatile handoff;  /* main -> holder; cleared by the holder */

static RC_NOINLINE void *make(size_t n)
{
  void *p = malloc(n);
  memset(p, 3, n);
  return p;
}

static void *holder(void *arg)
{
  (void)arg;
  void *volatile mine = handoff;   /* only this thread's stack keeps it */
  handoff = NULL;
  pthread_barrier_wait(&hold);
  pthread_barrier_wait(&done);
  mine = NULL;
  return NULL;
}

static RC_NOINLINE void *pass_to_thread(pthread_t *th)
{
  void *p = make(72);
  handoff = p;   /* not pthread_create's arg: the thread descriptor would keep it */
  pthread_create(th, NULL, holder, NULL);
  return p;
}

int main(void)
{
  static int not_heap;
  rc_leak_known();
  root = make(sizeof *root);
  root->a = make(40);
  root->b = make(24);

  RC_CHECK(reachcheck_is_reachable(root) == 1);
  RC_CHECK(reachcheck_is_reachable(root->a) == 1);                    /* through the heap */
  RC_CHECK(reachcheck_is_reachable((char *)root->a + 39) == 1);       /* interior pointer */
  RC_CHECK(reachcheck_is_reachable(&not_heap) == -1);
  RC_CHECK(reachcheck_is_reachable(NULL) == -1);

  /* Only this thread's locals hold b now. */
  void *volatile b = root->b;
  root->b = NULL;
  RC_CHECK(reachcheck_is_reachable(b) == 0);
  RC_CHECK(RC_ASSERT_UNREACHABLE(b) == 1);
  root->b = b;                  /* and back */
  RC_CHECK(reachcheck_is_reachable(b) == 1);
  RC_CHECK(RC_ASSERT_REACHABLE(b) == 1);

  /* Unreachable, but reachcheck_ignore() makes it a root. */
  void *volatile ig = make(8);
  RC_CHECK(reachcheck_is_reachable(ig) == 0);
  RC_CHECK(reachcheck_ignore(ig) == 0);
  RC_CHECK(reachcheck_is_reachable(ig) == 1);

  /* Another thread's stack is a root. */
  pthread_barrier_init(&hold, NULL, 2);
  pthread_barrier_init(&done, NULL, 2);
  pthread_t th;
  void *volatile t = pass_to_thread(&th);
  pthread_barrier_wait(&hold);
  RC_CHECK(reachcheck_is_reachable(t) == 1);
  pthread_barrier_wait(&done);
  pthread_join(th, NULL);
  rc_scrub();
  RC_CHECK(reachcheck_is_reachable(t) == 0);

  /* Freed: not a live block. */
  free(t);
  RC_CHECK(reachcheck_is_reachable(t) == -1);
  t = NULL;
  b = NULL;
  rc_scrub();
  struct reachcheck_result r;
  RC_CHECK(reachcheck_check(&r, 0) == 1 && r.direct_bytes == 77);   /* only the known block */
  puts("api_reachable: ok");
  return 0;
}
