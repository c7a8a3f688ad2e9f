/* Start-up and shutdown: options, thread registry, fork handlers and the
 * at-exit check. The constructor runs early (priority 101), but the heap may
 * already be in use: the first malloc initialises it on demand. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "runtime/runtime.h"
#include "profile/profile.h"
#include "retain/watch.h"

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

/* Every process gets its own snapshot thread and endpoint (master/worker
 * daemons serve from forked children): started here, once reachcheck's
 * locks are usable again. fork() only: vfork and posix_spawn run no atfork
 * handlers, and a thread started in a child that execs dies with the exec
 * (docs/daemons.md weighs the cases). */
static void fork_child(void)
{
  rc_threads_after_fork_child();
  rc_signals_after_fork_child();
  rc_heap_after_fork_child();
  rc_depot_unlock();
  rc_modules_unlock();
  rc_snapshot_after_fork_child();
  rc_http_after_fork_child();
  rc_in_runtime--;
}

/* Registered with atexit from our constructor, so under this library's
 * __dso_handle: glibc runs it when _dl_fini finalizes libreachcheck.so, which
 * (preloaded) comes right after the executable. The check sees the state
 * after the program's atexit handlers, its C++ static destructors and its
 * fini_array, and before any other library's destructors: the moment a
 * preloaded LeakSanitizer checks at (valgrind checks after all of them). */
static void at_exit_check(void) { rc_final_check(true); }

__attribute__((constructor(101))) static void rc_ctor(void)
{
  if (!rc_heap_ready()) rc_heap_init();
  rc_heap_set_bad_hook(rc_report_bad);
  rc_check_set_suppressor(rc_suppress_match);
  rc_in_runtime++;
  rc_err_fd_init();
  char err[512];
  /* LSAN_OPTIONS and HEAPCHECK first: reachcheck's own options win. */
  if (rc_compat_options(err, sizeof err)) {
    rc_log("%s", err);
    _exit(2);
  }
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
  if (rc_compat_after_options(err, sizeof err)) {
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
  rc_stackbound_init();
  rc_mappings_init();
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  rc_rootnames_init();
  rc_snapshot_init();
  rc_watch_init();                   /* --watch: its thread, after the fork handlers above */
  atexit(at_exit_check);
  rc_http_start();                   /* the live endpoint (http=), profile/http.c */
  rc_in_runtime--;
}
