/* The text report on stderr: leak groups by allocation stack, biggest first,
 * symbolized, then one SUMMARY line. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "rc.h"

void rc_print_stack(struct rc_buf *b, uint32_t stack, const char *indent)
{
  const struct rc_stack *s = rc_depot_get(stack);
  if (!s) {
    rc_buf_printf(b, "%s<no stack>\n", indent);
    return;
  }
  for (uint32_t i = 0; i < s->depth; i++) {
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    rc_buf_printf(b, "%s#%u 0x%lx in %s", indent, i, (unsigned long)fi.pc, fi.function[0] ? fi.function : "??");
    if (fi.file) rc_buf_printf(b, " %s:%d", fi.file, fi.line);
    rc_buf_printf(b, " (%s+0x%lx)\n", fi.module, (unsigned long)fi.offset);
  }
}

void rc_report_bad(const char *what, const void *p, uint32_t stack)
{
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_buf_printf(&b, "reachcheck: error: %s: %p (pid %d)\n", what, p, (int)getpid());
  rc_print_stack(&b, stack, "    ");
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
    rc_print_stack(&b, g[i].stack, "    ");
    rc_objects_print(&b, g[i].stack, g[i].kind);
  }
  for (size_t i = 0; i < r->groups.len; i++) {
    if (g[i].kind != RC_KIND_REACHABLE) continue;
    rc_buf_printf(&b, "\nReachable: %llu byte(s) in %llu object(s) allocated from:\n", (unsigned long long)g[i].bytes,
                  (unsigned long long)g[i].blocks);
    rc_print_stack(&b, g[i].stack, "    ");
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
