/* The runtime layer: start-up, fork handlers and the at-exit check
 * (runtime/init.c) and the public API of include/reachcheck.h
 * (runtime/api.c). Uses every layer below. */
#ifndef RC_RUNTIME_H
#define RC_RUNTIME_H
#include "base/base.h"
#include "check/mark.h"
#include "report/report.h"
#include "retain/retain.h"
#include "reachcheck.h"

/* ---- the end-of-process check (runtime/final.c) ---- */
/* What the end-of-process check does, filled at start-up by LSAN_OPTIONS
 * and HEAPCHECK (runtime/compat_*.c). */
struct rc_exit_policy {
  bool at_exit;               /* check at exit (leak_check_at_exit, HEAPCHECK=local, CancelGlobalCheck) */
  bool all_live;              /* every live block is a leak (HEAPCHECK=draconian) */
  uint32_t min_epoch;         /* only blocks from this epoch on (HEAPCHECK=minimal) */
  int (*turned_off)(void);    /* asks the program's __lsan_is_turned_off (runtime/compat_lsan.c) */
};
extern struct rc_exit_policy rc_exit_policy;
/* At exit, or earlier from __lsan_do_leak_check: whichever comes first
 * runs, the other never. */
void rc_final_check(bool at_exit);
/* log_path (runtime/logpath.c): after the options; at the end. */
void rc_log_path_open(void);
void rc_log_path_done(void);

/* ---- LeakSanitizer's and gperftools' interfaces (runtime/compat_*.c) ---- */
/* LSAN_OPTIONS, __lsan_default_options, HEAPCHECK: applied before
 * REACHCHECK_OPTIONS, which wins. One line in err and -1 on bad input. */
int rc_compat_options(char *err, size_t errlen);
int rc_gperf_options(char *err, size_t errlen);
/* After REACHCHECK_OPTIONS: default suppressions, log_path. */
int rc_compat_after_options(char *err, size_t errlen);
#endif
