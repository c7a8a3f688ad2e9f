/* The JSON report: one file per process (%p in the path is the pid), written
 * to a temporary file and renamed, so a killed process never leaves half a
 * report. An unwritable path is one line on stderr and the JSON goes there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rc.h"

#define RC_VERSION "1.0.0"

int rc_expand_path(const char *tmpl, char *out, size_t n)
{
  size_t o = 0;
  for (const char *p = tmpl; *p && o + 24 < n; p++) {
    if (p[0] == '%' && p[1] == 'p') {
      o += (size_t)snprintf(out + o, n - o, "%d", (int)getpid());
      p++;
    } else {
      out[o++] = *p;
    }
  }
  out[o] = 0;
  return (int)o;
}

static void kv(struct rc_buf *b, const char *name, uint64_t blocks, uint64_t bytes, bool comma)
{
  rc_buf_printf(b, "\"%s\":{\"blocks\":%llu,\"bytes\":%llu}%s", name, (unsigned long long)blocks,
                (unsigned long long)bytes, comma ? "," : "");
}

void rc_json_frame(struct rc_buf *b, const struct rc_frame_info *fi)
{
  rc_buf_put(b, "{\"function\":", 12);
  rc_buf_json_str(b, fi->function);
  rc_buf_put(b, ",\"file\":", 8);
  rc_buf_json_str(b, fi->file ? fi->file : "");
  rc_buf_printf(b, ",\"line\":%d,\"module\":", fi->line);
  rc_buf_json_str(b, fi->module);
  rc_buf_printf(b, ",\"offset\":\"0x%lx\",\"pc\":\"0x%lx\"}", (unsigned long)fi->offset, (unsigned long)fi->pc);
}

static void json_stack(struct rc_buf *b, uint32_t stack)
{
  rc_buf_put(b, "[", 1);
  const struct rc_stack *s = rc_depot_get(stack);
  for (uint32_t i = 0; s && i < s->depth; i++) {
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    if (i) rc_buf_put(b, ",", 1);
    rc_json_frame(b, &fi);
  }
  rc_buf_put(b, "]", 1);
}

void rc_json_write(int fd, const struct rc_result *r)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, "{\"tool\":\"reachcheck\",\"version\":\"%s\",\"pid\":%d,\"summary\":{", RC_VERSION, (int)getpid());
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
    json_stack(&b, g[i].stack);
    rc_buf_put(&b, "}", 1);
  }
  rc_buf_put(&b, "]", 1);
  rc_retain_exit_json(&b);
  rc_buf_put(&b, "}\n", 2);
  rc_buf_flush(&b);
}

int rc_report_json(const char *tmpl, const struct rc_result *r)
{
  char path[4096], tmp[4200];
  rc_expand_path(tmpl, path, sizeof path);
  /* A device, FIFO or /dev/stdout-like name: append to it. Renaming a
   * temporary file over it would replace the device node, the pipe or the
   * file the program's stdout is redirected to. */
  struct stat st;
  bool special = !strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6);
  if (special || (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {   /* e.g. /dev/stdout after the program closed fd 1 */
      rc_log("cannot write JSON report '%s' (%s); writing it to stderr", path, strerror(errno));
      rc_json_write(rc_err_fd, r);
      return -1;
    }
    rc_json_write(fd, r);
    close(fd);
    return 0;
  }
  /* A symbolic link: write and rename next to its target, so the link stays
   * (realpath allocates: we are inside the runtime, its blocks are internal). */
  char real[PATH_MAX];
  if (realpath(path, real) && strlen(real) < sizeof path) memcpy(path, real, strlen(real) + 1);
  snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc_log("cannot write JSON report '%s' (%s); writing it to stderr", path, strerror(errno));
    rc_json_write(rc_err_fd, r);
    return -1;
  }
  rc_json_write(fd, r);
  if (close(fd) || rename(tmp, path)) {
    rc_log("cannot write JSON report '%s' (%s); writing it to stderr", path, strerror(errno));
    unlink(tmp);
    rc_json_write(rc_err_fd, r);
    return -1;
  }
  return 0;
}
