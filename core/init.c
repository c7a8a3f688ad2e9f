/* Start-up and shutdown: options, thread registry, fork handlers and the
 * at-exit check. The constructor runs early (priority 101), but the heap may
 * already be in use: the first malloc initialises it on demand. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "rc.h"
#include "profile/profile.h"

static void fork_prepare(void)
{
  rc_in_runtime++;
  rc_modules_lock();
  rc_depot_lock();
  rc_heap_lock_all();
  rc_threads_lock();
}

static void fork_parent(void)
{
  rc_threads_unlock();
  rc_heap_unlock_all();
  rc_depot_unlock();
  rc_modules_unlock();
  rc_in_runtime--;
}

static void fork_child(void)
{
  rc_threads_after_fork_child();
  rc_heap_after_fork_child();
  rc_depot_unlock();
  rc_modules_unlock();
  rc_in_runtime--;
}

/* Registered with atexit from our constructor, so under this library's
 * __dso_handle: glibc runs it when _dl_fini finalizes libreachcheck.so, which
 * (preloaded) comes right after the executable. The check sees the state
 * after the program's atexit handlers, its C++ static destructors and its
 * fini_array, and before any other library's destructors: the moment a
 * preloaded LeakSanitizer checks at (valgrind checks after all of them). */
static void at_exit_check(void)
{
  if (!rc_opt.report) {
    rc_http_stop();                  /* issue 13: core/profile/ */
    rc_profile_exit_write(false);
    return;
  }
  struct rc_result r;
  struct rc_check_req req = {.mode = RC_CHECK_AT_EXIT, .hooks = rc_profile_exit_hooks(rc_retain_exit_hooks())};
  if (rc_check_run(&req, &r)) {
    /* Never a report that claims no leaks when the check did not run. */
    rc_log("the leak check could not run (no memory left for its own tables: mmap failed); no report");
    rc_profile_exit_write(false);    /* issue 13: the counters alone */
    rc_result_free(&r);
    return;
  }
  rc_in_runtime++;
  /* Silent when there is nothing to say, as LeakSanitizer: a parent that
   * captures a child's stderr (cmake running `uname -m`) must not find a
   * retention table or a SUMMARY line in the output it parses. */
  bool say = r.direct_blocks + r.indirect_blocks || r.corrupt_blocks || rc_opt.verbose || rc_opt.show_reachable;
  if (say) {
    rc_retain_exit_text(rc_err_fd);
    rc_report_text(rc_err_fd, &r);
  }
  if (rc_opt.json[0]) rc_report_json(rc_opt.json, &r);
  rc_sarif_exit(&r);
  rc_profile_exit_write(true);       /* issue 13 */
  rc_in_runtime--;
  bool leaks = r.direct_blocks + r.indirect_blocks > 0;
  rc_result_free(&r);
  if (leaks && rc_opt.exitcode) {
    fflush(NULL);
    _exit((int)rc_opt.exitcode);
  }
}

__attribute__((constructor(101))) static void rc_ctor(void)
{
  if (!rc_heap_ready()) rc_heap_init();
  rc_in_runtime++;
  rc_err_fd_init();
  char err[512];
  if (rc_options_parse(getenv("REACHCHECK_OPTIONS"), err, sizeof err)) {
    rc_log("%s (see REACHCHECK_OPTIONS=help=1)", err);
    _exit(2);
  }
  if (rc_opt.help) {
    rc_options_help(rc_err_fd);
    _exit(0);
  }
  if (rc_opt.suppressions[0] && rc_suppress_load(rc_opt.suppressions, err, sizeof err)) {
    rc_log("%s", err);
    _exit(2);
  }
  /* libunwind creates its per-thread cache key lazily at its first unwind;
   * do that now, before the program creates keys: a key index >= 32 would
   * make glibc calloc a second-level key array from inside reachcheck, where
   * it would be invisible, and the program's own keys share that array. */
  RC_AT_HERE(at);
  (void)rc_depot_capture(&at);
  rc_tls_init();
  rc_threads_init();
  rc_modules_refresh();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  rc_retain_init();
  atexit(at_exit_check);
  rc_http_start();                   /* issue 13: the live endpoint (http=) */
  rc_in_runtime--;
}
