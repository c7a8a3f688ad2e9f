/* gperftools' heap checker over reachcheck: HEAPCHECK=minimal|normal|strict|
 * draconian|as-is|local for the whole-program check, and the C functions
 * behind include/compat/gperftools/heap-checker.h (HeapLeakChecker).
 *   minimal    blocks allocated before main are never leaks; checked like normal
 *   normal     reachability, checked before global destructors (from an
 *              atexit handler registered when main starts)
 *   strict     reachability, checked after global destructors (reachcheck's
 *              own moment), so memory a destructor forgets is a leak
 *   draconian  every block not freed by then is a leak, reachable or not
 *              (except ignored ones: IgnoreObject, Disabler)
 *   as-is      HEAP_CHECK_AFTER_DESTRUCTORS, HEAP_CHECK_IGNORE_THREAD_LIVE,
 *              HEAP_CHECK_IGNORE_GLOBAL_LIVE, HEAP_CHECK_TEST_POINTER_ALIGNMENT
 *              or HEAP_CHECK_POINTER_SOURCE_ALIGNMENT=1 decide
 *   local      no whole-program check, only HeapLeakChecker objects
 * A whole-program check that finds leaks exits with status 1, as gperftools
 * does (exitcode= in REACHCHECK_OPTIONS wins); HEAP_CHECK_MAX_LEAKS limits
 * the groups printed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime/runtime.h"


enum { HC_OFF, HC_MINIMAL, HC_NORMAL, HC_STRICT, HC_DRACONIAN, HC_AS_IS, HC_LOCAL };
static const char *const mode_names[] = {"", "minimal", "normal", "strict", "draconian", "as-is", "local"};
static int mode;
static bool before_destructors;   /* normal, minimal, as-is without HEAP_CHECK_AFTER_DESTRUCTORS */
static uint32_t main_epoch;       /* minimal: blocks from this epoch on */

static int env_bool(const char *name, int def, char *err, size_t errlen)
{
  const char *v = getenv(name);
  if (!v || !*v) return def;
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "t") || !strcmp(v, "yes") || !strcmp(v, "y")) return 1;
  if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "f") || !strcmp(v, "no") || !strcmp(v, "n")) return 0;
  snprintf(err, errlen, "%s: bad value '%.60s' (want true or false)", name, v);
  return -1;
}

static int set(const char *kv, char *err, size_t errlen)
{
  char e2[512];
  if (!rc_options_parse(kv, e2, sizeof e2)) return 0;
  snprintf(err, errlen, "HEAPCHECK: %s", e2);
  return -1;
}

/* Before REACHCHECK_OPTIONS (called from rc_compat_options). */
int rc_gperf_options(char *err, size_t errlen)
{
  const char *v = getenv("HEAPCHECK");
  if (!v || !*v) return 0;
  for (int i = 1; i < (int)(sizeof mode_names / sizeof mode_names[0]); i++)
    if (!strcmp(v, mode_names[i])) mode = i;
  if (!mode) {
    snprintf(err, errlen, "HEAPCHECK='%.60s' is not a heap-check mode (minimal, normal, strict, draconian, as-is, local)", v);
    return -1;
  }
  if (mode == HC_LOCAL) {
    rc_exit_policy.at_exit = false;
    return set("report=0", err, errlen);
  }
  if (mode == HC_DRACONIAN) rc_exit_policy.all_live = true;
  before_destructors = mode == HC_MINIMAL || mode == HC_NORMAL;
  if (set("exitcode=1", err, errlen)) return -1;
  const char *ml = getenv("HEAP_CHECK_MAX_LEAKS");
  if (ml && *ml) {
    char *end;
    long n = strtol(ml, &end, 10);
    if (*end) {
      snprintf(err, errlen, "HEAP_CHECK_MAX_LEAKS: bad value '%.60s' (want a number)", ml);
      return -1;
    }
    char kv[64];
    snprintf(kv, sizeof kv, "max_leaks=%ld", n > 0 ? n : 0);   /* gperftools: 0 or negative, all */
    if (set(kv, err, errlen)) return -1;
  }
  if (mode != HC_AS_IS) return 0;
  int after = env_bool("HEAP_CHECK_AFTER_DESTRUCTORS", 0, err, errlen);
  int thr = env_bool("HEAP_CHECK_IGNORE_THREAD_LIVE", 1, err, errlen);
  int glob = env_bool("HEAP_CHECK_IGNORE_GLOBAL_LIVE", 1, err, errlen);
  int test_align = env_bool("HEAP_CHECK_TEST_POINTER_ALIGNMENT", 0, err, errlen);
  if (after < 0 || thr < 0 || glob < 0 || test_align < 0) return -1;
  const char *al = getenv("HEAP_CHECK_POINTER_SOURCE_ALIGNMENT");
  if (al && *al && strcmp(al, "1") && strcmp(al, "8")) {
    snprintf(err, errlen, "HEAP_CHECK_POINTER_SOURCE_ALIGNMENT: bad value '%.60s' (1 or 8)", al);
    return -1;
  }
  before_destructors = !after;
  char kv[128];
  snprintf(kv, sizeof kv, "scan_stacks=%d:scan_registers=%d:scan_globals=%d:unaligned=%d", thr, thr, glob,
           test_align || (al && !strcmp(al, "1")));
  return set(kv, err, errlen);
}


/* ---- main: where minimal starts and normal's check is registered ---- */
typedef int (*main_fn)(int, char **, char **);
static main_fn real_main;

static void before_destructors_check(void) { rc_final_check(true); }

/* A sibling call into main: no frame of ours stays between main and libc. */
static int main_wrapper(int argc, char **argv, char **envp)
{
  if (mode == HC_MINIMAL) rc_exit_policy.min_epoch = main_epoch = rc_epoch_advance();
  /* Registered now, it runs after the handlers main registers (and the
   * destructors of function-local statics) and before the destructors of
   * global objects, registered while they were constructed. */
  if (before_destructors) atexit(before_destructors_check);
  return real_main(argc, argv, envp);
}

RC_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                             void (*rtld_fini)(void), void *stack_end)
{
  typedef int (*start_fn)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);
  start_fn real = (start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
  if (!real) {
    rc_log("cannot find the next __libc_start_main");
    _exit(127);
  }
  /* HEAPCHECK is read by the constructor, which has run: libreachcheck is
   * initialised before the program starts. */
  if (mode == HC_MINIMAL || before_destructors) {
    real_main = main;
    main = main_wrapper;
  }
  return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}

/* ---- the functions behind HeapLeakChecker ---- */
static long run(struct reachcheck_result *out, int print, uint32_t min_epoch)
{
  if (!rc_heap_ready()) return -1;
  struct rc_result r;
  struct rc_check_req req = {.mode = mode == HC_DRACONIAN ? RC_CHECK_ALL_LIVE : 0, .min_epoch = min_epoch};
  if (rc_check_run(&req, &r)) {
    rc_result_free(&r);
    return -1;
  }
  if (out) {
    memset(out, 0, sizeof *out);
    out->direct_blocks = r.direct_blocks;
    out->direct_bytes = r.direct_bytes;
    out->indirect_blocks = r.indirect_blocks;
    out->indirect_bytes = r.indirect_bytes;
    out->reachable_blocks = r.reachable_blocks;
    out->reachable_bytes = r.reachable_bytes;
    out->suppressed_blocks = r.suppressed_blocks;
    out->suppressed_bytes = r.suppressed_bytes;
    out->ignored_blocks = r.ignored_blocks;
    out->ignored_bytes = r.ignored_bytes;
  }
  long n = (long)(r.direct_blocks + r.indirect_blocks);
  if (print && n) {
    rc_in_runtime++;
    rc_report_text(rc_err_fd, &r);
    rc_in_runtime--;
  }
  rc_result_free(&r);
  return n;
}

/* HeapLeakChecker::NoLeaks: leaks among blocks allocated since `token`
 * (reachcheck_scope_begin); under HEAPCHECK=draconian every such block
 * still live. */
RC_EXPORT long reachcheck_heapcheck_scope_end(uint32_t token, struct reachcheck_result *out, int print)
{
  if (!token) return -1;
  return run(out, print, token);
}

/* HeapLeakChecker::NoGlobalLeaks: the whole program now, as the exit check
 * would see it (minimal: from main on). */
RC_EXPORT long reachcheck_heapcheck_global(struct reachcheck_result *out, int print)
{
  return run(out, print, mode == HC_MINIMAL ? main_epoch : 0);
}

RC_EXPORT void reachcheck_heapcheck_cancel(void) { __atomic_store_n(&rc_exit_policy.at_exit, false, __ATOMIC_RELEASE); }

/* The HEAPCHECK mode in force ("" when unset). */
RC_EXPORT const char *reachcheck_heapcheck_mode(void) { return mode_names[mode]; }

/* HeapLeakChecker::UnIgnoreObject: undo reachcheck_ignore / IgnoreObject. */
RC_EXPORT int reachcheck_unignore(const void *p)
{
  if (!rc_heap_ready()) return -1;
  struct rc_hdr *h = rc_block_of((uintptr_t)p);
  if (!h || !(rc_hdr_flags(h) & RC_F_IGNORED)) return -1;
  rc_heap_set_flag(h, RC_F_IGNORED, false);
  return 0;
}
