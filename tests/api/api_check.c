/* reachcheck_check(), reachcheck_ignore() and reachcheck_disable()/enable(),
 * with the program linked to libreachcheck (no launcher). */
#include "../rc_test.h"
#include <reachcheck.h>

struct node { struct node *next; char pad[16]; };   /* 24 bytes */
void *kept;   /* reachable */

static RC_NOINLINE void leak_chain(void)   /* direct 32 -> indirect 24 -> indirect 24 */
{
  void **volatile head = malloc(32);
  struct node *a = malloc(sizeof *a), *b = malloc(sizeof *b);
  b->next = NULL;
  a->next = b;
  head[0] = a;
  head[1] = NULL;
  head = NULL;
}

static RC_NOINLINE void leak_ignored(void)
{
  void *volatile p = malloc(13);
  RC_CHECK(reachcheck_ignore(p) == 0);
  RC_CHECK(reachcheck_ignore((char *)p + 12) == 0);   /* interior pointer: same block */
  p = NULL;
}

static RC_NOINLINE void leak_disabled(void)
{
  reachcheck_disable();
  void *volatile p = malloc(19);
  reachcheck_enable();
  p = NULL;
}

int main(void)
{
  static int not_heap;
  RC_CHECK(reachcheck_active() == 1);
  RC_CHECK(reachcheck_ignore(&not_heap) == -1);
  kept = malloc(50);
  rc_leak_known();
  leak_chain();
  leak_ignored();
  leak_disabled();
  rc_scrub();
  struct reachcheck_result r;
  long n = reachcheck_check(&r, 0);
  printf("check: %ld leaked; direct %llu/%llu indirect %llu/%llu ignored %llu/%llu\n", n,
         (unsigned long long)r.direct_blocks, (unsigned long long)r.direct_bytes,
         (unsigned long long)r.indirect_blocks, (unsigned long long)r.indirect_bytes,
         (unsigned long long)r.ignored_blocks, (unsigned long long)r.ignored_bytes);
  RC_CHECK(n == 4);
  RC_CHECK(r.direct_blocks == 2 && r.direct_bytes == 77 + 32);
  RC_CHECK(r.indirect_blocks == 2 && r.indirect_bytes == 48);
  RC_CHECK(r.ignored_blocks == 2 && r.ignored_bytes == 13 + 19);
  RC_CHECK(r.reachable_blocks >= 1 && r.reachable_bytes >= 50);
  /* A full check reports the same leaks again: nothing is consumed. */
  rc_scrub();
  RC_CHECK(reachcheck_check(NULL, 0) == 4);
  RC_CHECK(RC_ASSERT_LEAKED_BYTES(77 + 32 + 48) == 1);
  puts("api_check: ok");
  return 0;
}
