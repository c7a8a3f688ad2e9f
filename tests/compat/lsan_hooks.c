/* The program's LeakSanitizer hooks, one per build (HOOK_OPTIONS,
 * HOOK_SUPPRESSIONS, HOOK_TURNED_OFF), each built linked with -lreachcheck
 * (the definition is exported) and plain, run preloaded (found in the
 * executable's symbol table). Leaks: the known 77, and 40 bytes from
 * suppressed_by_default().
 *   HOOK_OPTIONS       "exitcode=31:report_objects=1:max_leaks=1": exit 31,
 *                      one group printed with its object's address
 *   HOOK_SUPPRESSIONS  "leak:suppressed_by_default": 40 suppressed
 *   HOOK_TURNED_OFF    1: no check, no report, the program's status */
#include "rc_test.h"

#ifdef HOOK_OPTIONS
const char *__lsan_default_options(void) { return "exitcode=31:report_objects=1:max_leaks=1"; }
#endif
#ifdef HOOK_SUPPRESSIONS
const char *__lsan_default_suppressions(void) { return "# from the program\nleak:suppressed_by_default\n"; }
#endif
#ifdef HOOK_TURNED_OFF
int __lsan_is_turned_off(void) { return 1; }
#endif

RC_NOINLINE void suppressed_by_default(void)
{
  void *volatile p = malloc(40);
  p = NULL;
}

int main(void)
{
  suppressed_by_default();
  rc_leak_known();
  rc_scrub();
  printf("hooked\n");
  return 0;
}
