/* reachcheck_check_new(): a second call lists and counts only leaks that
 * appeared since the previous one; reachcheck_check() still sees them all. */
#include "../rc_test.h"
#include <reachcheck.h>

static RC_NOINLINE void leak(size_t n)
{
  void *volatile p = malloc(n);
  memset(p, 1, n);
  p = NULL;
}

static void show(const char *what, long n, const struct reachcheck_result *r)
{
  printf("%s: %ld leaked; direct %llu/%llu indirect %llu/%llu\n", what, n, (unsigned long long)r->direct_blocks,
         (unsigned long long)r->direct_bytes, (unsigned long long)r->indirect_blocks,
         (unsigned long long)r->indirect_bytes);
}

int main(void)
{
  struct reachcheck_result r;
  rc_leak_known();
  rc_scrub();
  long n = reachcheck_check_new(&r, 0);
  show("first", n, &r);
  RC_CHECK(n == 1 && r.direct_blocks == 1 && r.direct_bytes == 77 && r.indirect_blocks == 0);

  rc_scrub();
  n = reachcheck_check_new(&r, 0);
  show("second", n, &r);
  RC_CHECK(n == 0 && r.direct_blocks == 0 && r.direct_bytes == 0 && r.indirect_blocks == 0);

  leak(33);
  rc_scrub();
  n = reachcheck_check_new(&r, 0);
  show("third", n, &r);
  RC_CHECK(n == 1 && r.direct_blocks == 1 && r.direct_bytes == 33);

  leak(21);
  rc_scrub();
  n = reachcheck_check_new(&r, 1);   /* prints only the 21-byte leak */
  show("fourth", n, &r);
  RC_CHECK(n == 1 && r.direct_blocks == 1 && r.direct_bytes == 21);

  rc_scrub();
  n = reachcheck_check_new(&r, 1);   /* nothing new: prints nothing */
  RC_CHECK(n == 0);

  rc_scrub();
  n = reachcheck_check(&r, 0);
  show("full", n, &r);
  RC_CHECK(n == 3 && r.direct_blocks == 3 && r.direct_bytes == 77 + 33 + 21);
  puts("api_check_new: ok");
  return 0;
}
