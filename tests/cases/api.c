/* The public API (include/reachcheck.h), looked up with dlsym so the program
 * does not link the runtime:
 *   - reachcheck_active() is 1 under the launcher
 *   - reachcheck_ignore() on a leaked block (11): never reported, "ignored"
 *   - a block (12) allocated between reachcheck_disable/enable: "ignored"
 *   - reachcheck_check() in the middle of the run counts the leaked block
 *     (13) exactly: 1 direct block of 13 bytes, which is then freed
 *   - reachcheck_is_reachable(): 1 for a block held by a global, 0 for a
 *     leaked one
 * At exit: direct 1 / 77 (known), ignored 2 blocks / 23 bytes. */
#include "rc_test.h"
#include <dlfcn.h>
#include "reachcheck.h"

void *g_keep;
static void *g_victim_masked;   /* xor-masked: not a pointer the scan can see */
#define MASK ((uintptr_t)0x3c3c3c3c3c3c3c3cull)

#define API(name) __typeof__(&name) p_##name = (__typeof__(&name))dlsym(RTLD_DEFAULT, #name); \
  RC_CHECK(p_##name != NULL)

RC_NOINLINE void leak_ignored(int (*ignore)(const void *))
{
  char *volatile p = malloc(11);
  RC_CHECK(ignore(p + 3) == 0);   /* any pointer into the block */
  p = NULL;
}

RC_NOINLINE void leak_disabled(void (*dis)(void), void (*en)(void))
{
  dis();
  void *volatile p = malloc(12);
  en();
  p = NULL;
}

RC_NOINLINE void leak_victim(void)
{
  void *volatile p = malloc(13);
  g_victim_masked = (void *)((uintptr_t)p ^ MASK);
  p = NULL;
}

RC_NOINLINE void check_mid_run(long (*check)(struct reachcheck_result *, int),
                               int (*is_reachable)(const void *))
{
  struct reachcheck_result r;
  memset(&r, 0, sizeof r);
  long n = check(&r, 0);
  if (n != 1 || r.direct_blocks != 1 || r.direct_bytes != 13 || r.indirect_blocks != 0 ||
      r.ignored_blocks != 2 || r.ignored_bytes != 23) {
    fprintf(stderr, "mid-run check: n=%ld direct %lu/%lu indirect %lu ignored %lu/%lu\n", n,
            (unsigned long)r.direct_blocks, (unsigned long)r.direct_bytes,
            (unsigned long)r.indirect_blocks, (unsigned long)r.ignored_blocks,
            (unsigned long)r.ignored_bytes);
    rc_fail("reachcheck_check counts");
  }
  RC_CHECK(is_reachable(g_keep) == 1);
  RC_CHECK(is_reachable((void *)((uintptr_t)g_victim_masked ^ MASK)) == 0);
}

int main(void)
{
  API(reachcheck_active);
  API(reachcheck_ignore);
  API(reachcheck_disable);
  API(reachcheck_enable);
  API(reachcheck_check);
  API(reachcheck_is_reachable);
  RC_CHECK(p_reachcheck_active() == 1);
  g_keep = malloc(100);
  leak_ignored(p_reachcheck_ignore);
  leak_disabled(p_reachcheck_disable, p_reachcheck_enable);
  leak_victim();
  rc_scrub();
  check_mid_run(p_reachcheck_check, p_reachcheck_is_reachable);
  free((void *)((uintptr_t)g_victim_masked ^ MASK));
  g_victim_masked = NULL;
  rc_leak_known();
  rc_scrub();
  return 0;
}
