/* Every function of LeakSanitizer's interface (<sanitizer/lsan_interface.h>,
 * gcc's own header), linked with -lreachcheck. Modes:
 *   all     __lsan_disable/__lsan_enable (nested), __lsan::ScopedDisabler,
 *           __lsan_ignore_object, __lsan_register_root_region and
 *           __lsan_unregister_root_region, __lsan_do_recoverable_leak_check,
 *           then __lsan_do_leak_check, which finds leaks and ends the process
 *           with the exit code (the end-of-process check does not run again)
 *   clean   __lsan_do_leak_check finds nothing and returns; a block leaked
 *           after it is never reported (the end-of-process check moved)
 * Blocks in "all":
 *   D 31, D2 36  allocated while disabled (D2 under ScopedDisabler): ignored
 *   I 32         __lsan_ignore_object: ignored; I2 33 hangs off it: reachable
 *   R 34         its pointer in a registered root region: reachable
 *   U 35         its pointer in a region registered, then unregistered: leaked
 *   K 77         the known leak
 * Expect direct 2 (35 + 77 = 112), ignored 3 (31 + 32 + 36 = 99). */
#include "rc_test.h"
#include <sanitizer/lsan_interface.h>
#include <sys/mman.h>

static void *volatile handoff;
RC_NOINLINE void alloc_n(size_t n) { handoff = malloc(n); }
static void *take(size_t n)
{
  alloc_n(n);
  void *p = handoff;
  handoff = NULL;
  return p;
}

RC_NOINLINE void leak_disabled(void)
{
  __lsan_disable();
  __lsan_disable();
  void *volatile d = malloc(31);
  __lsan_enable();
  __lsan_enable();
  {
    __lsan::ScopedDisabler scoped;
    void *volatile d2 = malloc(36);
  }
}

RC_NOINLINE void leak_ignored(void)
{
  void **i = (void **)malloc(32);
  i[0] = malloc(33);
  __lsan_ignore_object(i);
}

/* Regions the checker would not scan by itself: MAP_STACK mappings are no
 * arenas (tests/compat/mappings.c). */
static void **region(void)
{
  void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  RC_CHECK(p != MAP_FAILED);
  return (void **)p;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "all";
  if (!strcmp(mode, "clean")) {
    rc_scrub();
    __lsan_do_leak_check();
    printf("no leaks, going on\n");
    rc_leak_known();   /* after the check moved: never reported */
    rc_scrub();
    return 0;
  }
  leak_disabled();
  leak_ignored();
  void **r = region(), **u = region();
  r[10] = take(34);
  u[20] = take(35);
  __lsan_register_root_region(r, 4096);
  __lsan_register_root_region(u, 4096);
  __lsan_unregister_root_region(u, 4096);
  __lsan_unregister_root_region(u, 4096);   /* not registered any more: one line, no crash */
  r = u = NULL;
  rc_scrub();
  int first = __lsan_do_recoverable_leak_check();
  rc_leak_known();
  rc_scrub();
  int second = __lsan_do_recoverable_leak_check();
  printf("recoverable: %d %d\n", first, second);
  fflush(stdout);
  rc_scrub();
  __lsan_do_leak_check();
  printf("after do_leak_check\n");
  return 0;
}
