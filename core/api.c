/* The public API of include/reachcheck.h. */
#define _GNU_SOURCE
#include <string.h>
#include "mark.h"
#include "../include/reachcheck.h"

REACHCHECK_API int reachcheck_active(void) { return rc_heap_ready(); }

static long run(struct reachcheck_result *out, int print, int mode)
{
  struct rc_result r;
  if (rc_check(&r, mode)) return -1;
  if (out) {
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
  if (print) {
    rc_in_runtime++;
    rc_report_text(rc_err_fd, &r);
    rc_in_runtime--;
  }
  long n = (long)(r.direct_blocks + r.indirect_blocks);
  rc_result_free(&r);
  return n;
}

REACHCHECK_API long reachcheck_check(struct reachcheck_result *out, int print) { return run(out, print, 0); }
REACHCHECK_API long reachcheck_check_new(struct reachcheck_result *out, int print)
{
  return run(out, print, RC_CHECK_ONLY_NEW);
}

REACHCHECK_API int reachcheck_ignore(const void *p)
{
  if (!rc_heap_ready()) return -1;
  struct rc_hdr *h = rc_block_of((uintptr_t)p);
  if (!h) return -1;
  rc_heap_set_flag(h, RC_F_IGNORED, true);
  return 0;
}

REACHCHECK_API void reachcheck_disable(void) { rc_disabled++; }
REACHCHECK_API void reachcheck_enable(void)
{
  if (rc_disabled > 0) rc_disabled--;
}
