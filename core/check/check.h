/* The check layer: a leak check from start to end (check/check.c: stop
 * the world, collect roots, mark, classify, aggregate) and the mark phase
 * (check/mark.c). Uses base/, stack/, heap/ and scanners/. */
#ifndef RC_CHECK_H
#define RC_CHECK_H
#include "base/base.h"
#include "heap/heap.h"
#include "scanners/scanners.h"

enum { RC_KIND_DIRECT, RC_KIND_INDIRECT, RC_KIND_REACHABLE };
struct rc_leak_group {
  uint32_t stack;
  int kind;                 /* RC_KIND_* */
  uint64_t blocks, bytes;
  bool suppressed;
  const char *suppressed_by;
  bool is_new;              /* not reported by an earlier check */
};
struct rc_result {
  uint64_t direct_blocks, direct_bytes, indirect_blocks, indirect_bytes;
  uint64_t reachable_blocks, reachable_bytes;
  uint64_t suppressed_blocks, suppressed_bytes;
  uint64_t ignored_blocks, ignored_bytes;
  uint64_t corrupt_blocks;   /* headers overwritten (buffer overflow): not analysed */
  uint32_t threads, roots;
  double ms_stop, ms_mark, ms_total;
  pid_t child;
  struct rc_vec groups;     /* struct rc_leak_group, sorted by bytes */
};
enum { RC_CHECK_AT_EXIT = 1, RC_CHECK_ONLY_NEW = 2, RC_CHECK_FORK = 4, RC_CHECK_NO_GROUPS = 8,
       RC_CHECK_ALL_LIVE = 16 /* every live block not ignored is a leak (HEAPCHECK=draconian) */ };
struct rc_mark;
/* Extension points of a check, all called with the world stopped (or in the
 * forked copy for RC_CHECK_FORK): no locks, no allocation from the heap. */
struct rc_check_hooks {
  void *ctx;
  /* every root range, before it is marked */
  void (*root)(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r);
  /* after marking, before leaks are aggregated; after classification too
   * unless concurrent (with RC_CHECK_NO_GROUPS nothing is classified) */
  void (*after_mark)(void *ctx, struct rc_mark *m);
  /* after_mark reads only the marks (not the direct/indirect split) and
   * nothing the leak aggregation writes or calls (the suppressor
   * symbolizes): on a big heap it may run on the helper thread while the
   * leaks are classified and aggregated (scanners.h rc_helper_post) */
  bool concurrent;
  /* RC_CHECK_FORK only: in the child, after collect; the child then _exits */
  void (*in_child)(void *ctx, struct rc_result *res);
};
struct rc_check_req {
  int mode;
  uint32_t min_epoch;      /* only blocks allocated at or after this epoch are leaks */
  const struct rc_check_hooks *hooks;
};
/* Run a check. With RC_CHECK_FORK the marking runs in a forked copy taken
 * while the threads are stopped; the caller gets the child's pid in
 * res->child and the world resumes as soon as the fork returns. */
int rc_check_run(const struct rc_check_req *req, struct rc_result *res);
int rc_check(struct rc_result *res, int mode);
void rc_result_free(struct rc_result *res);
/* Suppressions are matched while leaks are aggregated; the report layer's
 * matcher is installed at start-up (NULL: nothing is suppressed). Returns
 * the matching pattern or NULL. */
typedef const char *(*rc_suppress_fn)(uint32_t stack);
void rc_check_set_suppressor(rc_suppress_fn fn);
/* report_objects=1: addresses of leaked blocks, noted while collecting
 * (check/objects.c), printed by the text report. */
void rc_objects_reset(void);
void rc_objects_note(const struct rc_hdr *h, int kind);
void rc_objects_print(struct rc_buf *b, uint32_t stack, int kind);
#endif
