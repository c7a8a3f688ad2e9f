/* Leak scopes: reachcheck_scope_end() counts only blocks allocated since the
 * token that are leaked now, whatever thread allocated them. */
#include "../rc_test.h"
#include <pthread.h>
#include <reachcheck.h>

void *kept;   /* allocated inside a scope, reachable: not a leak */

static RC_NOINLINE void leak(size_t n)
{
  void *volatile p = malloc(n);
  memset(p, 2, n);
  p = NULL;
}

static RC_NOINLINE void churn(void)   /* allocate and free: not a leak */
{
  for (int i = 0; i < 100; i++) free(malloc(64));
}

static RC_NOINLINE void leak_chain(void)   /* direct 40 -> indirect 24 */
{
  void **volatile head = malloc(40);
  head[0] = malloc(24);
  head = NULL;
}

static void *thread_leaks(void *arg)
{
  (void)arg;
  leak(56);
  rc_scrub();
  return NULL;
}

static void expect(const char *what, long n, const struct reachcheck_result *r, long want, uint64_t dblocks,
                   uint64_t dbytes, uint64_t iblocks, uint64_t ibytes)
{
  printf("%s: %ld leaked; direct %llu/%llu indirect %llu/%llu\n", what, n, (unsigned long long)r->direct_blocks,
         (unsigned long long)r->direct_bytes, (unsigned long long)r->indirect_blocks,
         (unsigned long long)r->indirect_bytes);
  if (n != want || r->direct_blocks != dblocks || r->direct_bytes != dbytes || r->indirect_blocks != iblocks ||
      r->indirect_bytes != ibytes)
    rc_fail(what);
}

int main(void)
{
  struct reachcheck_result r;
  rc_leak_known();   /* before every scope: never counted by one */
  RC_CHECK(reachcheck_scope_end(0, &r, 0) == -1);

  uint32_t t = reachcheck_scope_begin();
  RC_CHECK(t != 0);
  leak(40);
  churn();
  kept = malloc(48);
  rc_scrub();
  expect("scope", reachcheck_scope_end(t, &r, 0), &r, 1, 1, 40, 0, 0);

  uint32_t outer = reachcheck_scope_begin();
  leak(24);
  uint32_t inner = reachcheck_scope_begin();
  leak(16);
  leak_chain();
  rc_scrub();
  expect("inner", reachcheck_scope_end(inner, &r, 0), &r, 3, 2, 56, 1, 24);
  rc_scrub();
  expect("outer", reachcheck_scope_end(outer, &r, 0), &r, 4, 3, 80, 1, 24);

  uint32_t empty = reachcheck_scope_begin();
  churn();
  rc_scrub();
  expect("empty", reachcheck_scope_end(empty, &r, 1), &r, 0, 0, 0, 0, 0);

  /* The whole process, for comparison: every leak above plus the known one. */
  rc_scrub();
  expect("process", reachcheck_check(&r, 0), &r, 6, 5, 77 + 40 + 24 + 16 + 40, 1, 24);

  /* Last: after a thread exits, glibc's cached descriptor of it may still
   * hold pointers to blocks freed at its exit, which later allocations
   * reuse (see the report to the runtime owner). */
  uint32_t t2 = reachcheck_scope_begin();
  RC_CHECK(t2 > empty);
  pthread_t th;
  pthread_create(&th, NULL, thread_leaks, NULL);
  pthread_join(th, NULL);
  rc_scrub();
  expect("thread", reachcheck_scope_end(t2, &r, 0), &r, 1, 1, 56, 0, 0);
  puts("api_scope: ok");
  return 0;
}
