/* The JSON report: one file per process (%p in the path is the pid), through
 * the atomic writer (base/fileout.c), so a killed process never leaves half a
 * report; an unwritable path goes to a private fallback file, said in one
 * line on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "report/report.h"


static void kv(struct rc_buf *b, const char *name, uint64_t blocks, uint64_t bytes, bool comma)
{
  rc_buf_printf(b, "\"%s\":{\"blocks\":%llu,\"bytes\":%llu}%s", name, (unsigned long long)blocks,
                (unsigned long long)bytes, comma ? "," : "");
}

void rc_json_write(int fd, const struct rc_result *r, rc_json_extra_fn extra)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, "{\"tool\":\"reachcheck\",\"version\":\"%s\",\"pid\":%d,\"summary\":{", rc_version, (int)getpid());
  kv(&b, "direct", r->direct_blocks, r->direct_bytes, true);
  kv(&b, "indirect", r->indirect_blocks, r->indirect_bytes, true);
  kv(&b, "reachable", r->reachable_blocks, r->reachable_bytes, true);
  kv(&b, "suppressed", r->suppressed_blocks, r->suppressed_bytes, true);
  kv(&b, "ignored", r->ignored_blocks, r->ignored_bytes, false);
  rc_buf_printf(&b, "},\"corrupt_blocks\":%llu,\"threads\":%u,\"roots\":%u,\"timing_ms\":{\"stop\":%.3f,\"mark\":%.3f,"
                    "\"total\":%.3f},\"leaks\":[",
                (unsigned long long)r->corrupt_blocks, r->threads, r->roots, r->ms_stop, r->ms_mark, r->ms_total);
  const struct rc_leak_group *g = (const struct rc_leak_group *)r->groups.data;
  for (size_t i = 0; i < r->groups.len; i++) {
    rc_buf_printf(&b, "%s{\"kind\":\"%s\",\"blocks\":%llu,\"bytes\":%llu,\"suppressed\":%s,", i ? "," : "",
                  g[i].kind == RC_KIND_REACHABLE ? "reachable" : g[i].kind ? "indirect" : "direct", (unsigned long long)g[i].blocks, (unsigned long long)g[i].bytes,
                  g[i].suppressed ? "true" : "false");
    if (g[i].suppressed) {
      rc_buf_put(&b, "\"suppressed_by\":", 16);
      rc_buf_json_str(&b, g[i].suppressed_by);
      rc_buf_put(&b, ",", 1);
    }
    rc_buf_put(&b, "\"stack\":", 8);
    rc_stack_format(&b, g[i].stack, RC_STACK_JSON, NULL, 0);
    rc_buf_put(&b, "}", 1);
  }
  rc_buf_put(&b, "]", 1);
  if (extra) extra(&b);
  rc_buf_put(&b, "}\n", 2);
  rc_buf_flush(&b);
}

int rc_report_json(const char *tmpl, const struct rc_result *r, rc_json_extra_fn extra)
{
  char path[4096];
  if (rc_path_expand(tmpl, 0, path, sizeof path) < 0) {
    rc_log("cannot write JSON report: the path '%.200s...' is too long", tmpl);
    return -1;
  }
  struct rc_out o;
  if (rc_out_open(&o, path, true)) {
    rc_log("cannot write JSON report '%s' (%s), nor a private copy", path, o.why);
    return -1;
  }
  rc_json_write(o.fd, r, extra);
  if (rc_out_commit(&o)) {
    rc_log("cannot write JSON report '%s' (%s)", o.path, o.why);
    return -1;
  }
  if (o.fallback) rc_log("cannot write JSON report '%s' (%s); wrote it to %s", path, o.why, o.path);
  return 0;
}
