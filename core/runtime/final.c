/* The end-of-process leak check and its report (text, JSON, SARIF), once
 * per process, as the exit policy says (runtime.h: LSAN_OPTIONS and
 * HEAPCHECK fill it at start-up). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "runtime/runtime.h"
#include "profile/profile.h"
#include "retain/watch.h"
#include "stack/timeline.h"

struct rc_exit_policy rc_exit_policy = {.at_exit = true};
static int final_done;


static bool skip(bool at_exit)
{
  if (__atomic_exchange_n(&final_done, 1, __ATOMIC_ACQ_REL)) return true;
  if (rc_exit_policy.turned_off && rc_exit_policy.turned_off()) return true;
  return at_exit && !__atomic_load_n(&rc_exit_policy.at_exit, __ATOMIC_ACQUIRE);
}

/* The end-of-process check: at exit, or earlier from __lsan_do_leak_check
 * (runtime/compat_lsan.c) or before global destructors (HEAPCHECK=normal,
 * runtime/compat_gperf.c); whichever comes first runs, the other never. */
/* The JSON report's sections after the leaks: retention, growth, then
 * memory over time. */
static void exit_json(struct rc_buf *b)
{
  rc_retain_exit_json(b);
  rc_watch_exit_json(b);
  rc_time_json(b, RC_STACK_JSON);
}

void rc_final_check(bool at_exit)
{
  if (at_exit) rc_http_stop();   /* the endpoint's thread and sockets end before the last check */
  rc_watch_stop();               /* no sample while the last check runs */
  rc_timeline_mark();            /* the timeline's last point: the heap as the check finds it */
  if (!rc_opt.report) {
    if (at_exit) rc_profile_exit_write(false);   /* --pprof: the counters alone */
    return;
  }
  if (skip(at_exit)) return;
  struct rc_result r;
  struct rc_check_req req = {.mode = RC_CHECK_AT_EXIT, .hooks = rc_profile_exit_hooks(rc_retain_exit_hooks(rc_opt.pprof[0] != 0))};
  if (rc_exit_policy.all_live) req.mode |= RC_CHECK_ALL_LIVE;
  req.min_epoch = rc_exit_policy.min_epoch;
  /* At exit, the exiting thread is scanned from where exit() was called. */
  if (at_exit) rc_stackbound_exit_begin((long)gettid());
  int failed = rc_check_run(&req, &r);
  rc_stackbound_exit_end();
  if (failed) {
    /* Never a report that claims no leaks when the check did not run. */
    rc_log("the leak check could not run (no memory left for its own tables: mmap failed); no report");
    rc_profile_exit_write(false);
    rc_result_free(&r);
    return;
  }
  rc_in_runtime++;
  rc_watch_exit_text(rc_err_fd);   /* --watch: what grew, or that nothing did */
  /* Silent when there is nothing to say, as LeakSanitizer: a parent that
   * captures a child's stderr (cmake running `uname -m`) must not find a
   * retention table or a SUMMARY line in the output it parses. */
  bool say = r.direct_blocks + r.indirect_blocks || r.corrupt_blocks || rc_opt.verbose || rc_opt.show_reachable;
  if (say) {
    rc_retain_exit_text(rc_err_fd);
    rc_report_text(rc_err_fd, &r);
  }
  if (rc_opt.json[0]) rc_report_json(rc_opt.json, &r, exit_json);
  rc_sarif_exit(&r);
  rc_profile_exit_write(true);
  rc_log_path_done();
  rc_in_runtime--;
  bool leaks = r.direct_blocks + r.indirect_blocks > 0;
  rc_result_free(&r);
  if (leaks && rc_opt.exitcode) {
    fflush(NULL);
    _exit((int)rc_opt.exitcode);
  }
}

