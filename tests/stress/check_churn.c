/* Threads created and joined in a loop while other threads run checks:
 * full checks (reachcheck_check) from the main thread and a scoped check
 * (scope_begin/scope_end) that spans the churn. A thread that is being
 * created, is running, or has just exited must never turn its blocks into
 * leaks or hang the check.
 * Expect: every check direct 2 / 132 (77 before the scope, 55 inside it),
 * the scope exactly 1 / 55, the at-exit report direct 2 / 132, indirect 0. */
#include "stress.h"

static volatile int g_stop;
static void *volatile g_keep[256];
static long g_threads;

RC_NOINLINE static void leak55(void)
{
  void *volatile p = malloc(55);
  memset(p, 1, 55);
  rc_barrier(p);
  p = NULL;
}

static void *leaker(void *arg)
{
  leak55();
  rc_scrub();
  return arg;
}

static void *short_lived(void *arg)
{
  long id = (long)arg;
  uint64_t s = (uint64_t)id * 2654435761u + 1;
  for (int i = 0; i < 200; i++) {
    int k = (int)(id % 256);
    void *p = malloc(rcs_rand(&s) % 512);
    void *old = __atomic_exchange_n(&g_keep[k], p, __ATOMIC_SEQ_CST);
    free(old);
  }
  return NULL;
}

static void *churn(void *arg)
{
  long id = 0;
  while (!__atomic_load_n(&g_stop, __ATOMIC_SEQ_CST)) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) RC_CHECK(pthread_create(&t[i], NULL, short_lived, (void *)id++) == 0);
    for (int i = 0; i < 4; i++) RC_CHECK(pthread_join(t[i], NULL) == 0);
  }
  __atomic_add_fetch(&g_threads, id, __ATOMIC_SEQ_CST);
  return arg;
}

int main(int argc, char **argv)
{
  int checks = argc > 1 ? atoi(argv[1]) : 40;
  rcs_watchdog(200);
  rcs_require_runtime();
  rc_leak_known();
  uint32_t tok = reachcheck_scope_begin();
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, leaker, NULL) == 0);
  RC_CHECK(pthread_join(t, NULL) == 0);
  rc_scrub();
  pthread_t c[2];
  for (int i = 0; i < 2; i++) RC_CHECK(pthread_create(&c[i], NULL, churn, NULL) == 0);
  struct reachcheck_result r;
  for (int i = 0; i < checks; i++) {
    memset(&r, 0, sizeof r);
    RC_CHECK(reachcheck_check(&r, 0) == 2);
    RCS_EXPECT(r, 2, 132, 0);
    usleep(1000);
  }
  memset(&r, 0, sizeof r);
  RC_CHECK(reachcheck_scope_end(tok, &r, 0) == 1);
  RCS_EXPECT(r, 1, 55, 0);
  __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < 2; i++) RC_CHECK(pthread_join(c[i], NULL) == 0);
  for (int i = 0; i < 256; i++) free(g_keep[i]);
  printf("%d checks during churn of %ld threads: ok\n", checks, g_threads);
  rc_scrub();
  return 0;
}
