/* The report layer: the one stack formatter (report/stackfmt.c) and what
 * is made with it: the text report (report/report_text.c), the JSON report
 * (report/report_json.c), SARIF (report/sarif.c), bad-free lines, and the
 * suppressions (report/suppress.c). Uses base/, stack/, heap/, symbols/
 * and check/. */
#ifndef RC_REPORT_H
#define RC_REPORT_H
#include "base/base.h"
#include "check/check.h"
#include "symbols/symbols.h"

/* ---- the stack formatter (report/stackfmt.c) ---- */
enum rc_stack_style {
  RC_STACK_FRAMES,     /* a line a frame: "#0 0x.. in fn file:12 (module+0x..)", LeakSanitizer's */
  RC_STACK_LINE,       /* the innermost frames on one line: "f a.c:12 < g b.c:30 < ..." */
  RC_STACK_JSON,       /* [{"function","file","line","module","offset","pc"}, ...] */
  RC_STACK_JSON_RAW,   /* the same without libdw (a forked copy): ELF symbol, module+offset */
};
/* Frames of depot stack `stack` in `style`; indent starts each RC_STACK_FRAMES
 * line; max_frames 0 is every frame. A missing stack is "<no stack>" ([]). */
void rc_stack_format(struct rc_buf *b, uint32_t stack, enum rc_stack_style style, const char *indent,
                     int max_frames);
/* The walk under every style: fn(ctx, i, frame) for frames 0..n-1 of the
 * stack (n = max_frames if nonzero and smaller), symbolized; returns the
 * stack's depth (0 for none). SARIF's frames are made with it. */
typedef void (*rc_frame_fn)(void *ctx, uint32_t i, const struct rc_frame_info *fi);
uint32_t rc_stack_each(uint32_t stack, int max_frames, rc_frame_fn fn, void *ctx);
/* One frame as a JSON object (RC_STACK_JSON's element). */
void rc_json_frame(struct rc_buf *b, const struct rc_frame_info *fi);

/* ---- reports ---- */
void rc_report_text(int fd, const struct rc_result *res);
/* The JSON report into path_template (%p: pid) through the atomic writer;
 * `extra`, when not NULL, appends sections (",\"name\":...") to the top
 * object. */
typedef void (*rc_json_extra_fn)(struct rc_buf *b);
int rc_report_json(const char *path_template, const struct rc_result *res, rc_json_extra_fn extra);
void rc_json_write(int fd, const struct rc_result *r, rc_json_extra_fn extra);
/* Memory over time (report/report_time.c): ",\"allocations\":..,\"peak\":..,
 * \"alloc_sites\":..,\"timeline\":.." for the JSON report and snapshots,
 * stacks in `style`. */
void rc_time_json(struct rc_buf *b, enum rc_stack_style style);
/* SARIF: write rc_opt.sarif if set. */
void rc_sarif_exit(const struct rc_result *r);
/* Growing memory found by --watch (retain/watch_out.c installs the source at
 * start-up): one "growing-memory" result each, located at `stack`'s first
 * frame in the program's code. */
struct rc_sarif_growth { char message[640]; uint32_t stack; int kind; double bytes_per_snapshot, bytes_per_sec; };
typedef size_t (*rc_sarif_growth_fn)(struct rc_sarif_growth *out, size_t max);
void rc_sarif_set_growth(rc_sarif_growth_fn fn);
/* Bad frees: one line and the stack on stderr, or abort (abort_on_error);
 * installed as the heap's hook at start-up. */
void rc_report_bad(enum rc_bad_kind kind, const void *p, uint32_t stack);

/* ---- suppressions (report/suppress.c) ---- */
int rc_suppress_load(const char *path, char *err, size_t errlen);
/* The matching pattern or NULL (the check's suppressor). */
const char *rc_suppress_match(uint32_t stack);
/* Suppressions given as text (__lsan_default_suppressions), added to the
 * file's; `name` for messages. */
int rc_suppress_add_text(const char *text, const char *name, char *err, size_t errlen);
bool rc_pattern_match(const char *pat, const char *s);
#endif
