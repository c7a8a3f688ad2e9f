/* The text report on stderr: leak groups by allocation stack, biggest first,
 * symbolized, then one SUMMARY line. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "report/report.h"

const char *rc_bad_kind_text(enum rc_bad_kind k)
{
  static const char *const text[RC_BAD_COUNT] = {
    [RC_BAD_INVALID_FREE] = "invalid free: the pointer was never allocated",
    [RC_BAD_INVALID_REALLOC] = "invalid realloc: the pointer was never allocated",
    [RC_BAD_INTERIOR_FREE] = "free of an interior pointer",
    [RC_BAD_INTERIOR_REALLOC] = "realloc of an interior pointer",
    [RC_BAD_DOUBLE_FREE] = "double free",
    [RC_BAD_REALLOC_FREED] = "realloc of freed memory",
    [RC_BAD_CORRUPT] = "heap corruption: the header in front of this block was overwritten (buffer overflow from the "
                       "block before it?); the block is left alone",
  };
  return (unsigned)k < RC_BAD_COUNT ? text[k] : "bad pointer";
}

void rc_report_bad(enum rc_bad_kind kind, const void *p, uint32_t stack)
{
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_buf_printf(&b, "reachcheck: error: %s: %p (pid %d)\n", rc_bad_kind_text(kind), p, (int)getpid());
  rc_stack_format(&b, stack, RC_STACK_FRAMES, "    ", 0);
  rc_buf_flush(&b);
  if (rc_opt.abort_on_error) abort();
}

void rc_report_text(int fd, const struct rc_result *r)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  const struct rc_leak_group *g = (const struct rc_leak_group *)r->groups.data;
  size_t shown = 0, hidden = 0;
  bool header = false;
  for (size_t i = 0; i < r->groups.len; i++) {
    if (g[i].suppressed || g[i].kind == RC_KIND_REACHABLE) continue;
    if (!header) {
      rc_buf_printf(&b, "\n==%d== reachcheck: detected memory leaks\n", (int)getpid());
      header = true;
    }
    if (rc_opt.max_leaks && shown >= (size_t)rc_opt.max_leaks) {
      hidden++;
      continue;
    }
    shown++;
    rc_buf_printf(&b, "\n%s leak of %llu byte(s) in %llu object(s) allocated from:\n", g[i].kind ? "Indirect" : "Direct",
                  (unsigned long long)g[i].bytes, (unsigned long long)g[i].blocks);
    rc_stack_format(&b, g[i].stack, RC_STACK_FRAMES, "    ", 0);
    rc_objects_print(&b, g[i].stack, g[i].kind);
  }
  for (size_t i = 0; i < r->groups.len; i++) {
    if (g[i].kind != RC_KIND_REACHABLE) continue;
    rc_buf_printf(&b, "\nReachable: %llu byte(s) in %llu object(s) allocated from:\n", (unsigned long long)g[i].bytes,
                  (unsigned long long)g[i].blocks);
    rc_stack_format(&b, g[i].stack, RC_STACK_FRAMES, "    ", 0);
  }
  if (hidden) rc_buf_printf(&b, "\n(%zu more leak groups not shown; max_leaks=0 shows all)\n", hidden);
  if (r->corrupt_blocks)
    rc_buf_printf(&b, "reachcheck: warning: %llu block(s) have an overwritten header (heap buffer overflow?) and were "
                      "left out of the analysis\n", (unsigned long long)r->corrupt_blocks);
  if (rc_opt.verbose)
    rc_buf_printf(&b, "reachcheck: %u threads, %u root ranges, stop %.2f ms, mark %.2f ms, total %.2f ms\n",
                  r->threads, r->roots, r->ms_stop, r->ms_mark, r->ms_total);
  rc_buf_printf(&b, "%sSUMMARY: reachcheck: %llu direct (%llu bytes), %llu indirect (%llu bytes) leaked; "
                    "%llu reachable (%llu bytes)",
                header ? "\n" : "", (unsigned long long)r->direct_blocks, (unsigned long long)r->direct_bytes,
                (unsigned long long)r->indirect_blocks, (unsigned long long)r->indirect_bytes,
                (unsigned long long)r->reachable_blocks, (unsigned long long)r->reachable_bytes);
  if (r->suppressed_blocks)
    rc_buf_printf(&b, "; %llu suppressed (%llu bytes)", (unsigned long long)r->suppressed_blocks,
                  (unsigned long long)r->suppressed_bytes);
  rc_buf_printf(&b, "\n");
  rc_buf_flush(&b);
}
