/* What --watch found, for the reader: one text entry per growing root, top
 * block or allocation site (docs/over-time.md shows one), the JSON report's
 * growth[], the live endpoint's /debug/reachcheck/growth and SARIF's
 * growing-memory results. Report time: the world runs, libdw may be used. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "retain/watch.h"
#include "base/pprof.h"

static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

/* Exact for whole numbers (a deterministic program's bytes per snapshot). */
static void num(struct rc_buf *b, double v)
{
  if (v == (double)(long long)v) rc_buf_printf(b, "%lld", (long long)v);
  else rc_buf_printf(b, "%.3f", v);
}

static void what_text(struct rc_buf *b, const struct rc_w_growth *g)
{
  if (g->kind == 1) {
    rc_root_text(b, &g->root);
    return;
  }
  if (g->kind == 3) {
    rc_buf_put(b, "allocation site ", 16);
    rc_stack_format(b, g->site, RC_STACK_LINE, NULL, 3);
    rc_buf_printf(b, " (its live bytes)");
    return;
  }
  rc_buf_printf(b, "%llu-byte block at 0x%lx from ", (unsigned long long)g->block.size, (unsigned long)g->block.addr);
  rc_stack_format(b, g->block.stack, RC_STACK_LINE, NULL, 3);
  rc_buf_printf(b, " (retained by no single root; reachable from ");
  for (uint32_t k = 0; k < g->block.nreach; k++) {
    if (k) rc_buf_put(b, ", ", 2);
    rc_root_text(b, &g->block.reach[k]);
  }
  if (g->block.reach_total > g->block.nreach)
    rc_buf_printf(b, " and %u more root%s", g->block.reach_total - g->block.nreach,
                  plural(g->block.reach_total - g->block.nreach));
  if (!g->block.reach_total) rc_buf_printf(b, "no root now");
  rc_buf_put(b, ")", 1);
}

static void path_text(struct rc_buf *b, const struct rc_w_path *p)
{
  rc_buf_put(b, "root -> ", 8);
  for (uint32_t i = 1; i < p->nsteps; i++) {
    const struct rc_why_step *s = &p->steps[i];
    if (i > 1) rc_buf_put(b, " -> ", 4);
    if (p->elided && i == 1 + RC_W_STEPS / 2)
      rc_buf_printf(b, "... %llu more block%s ... -> ", (unsigned long long)p->elided, plural(p->elided));
    /* two frames a block: allocators are often wrapped (redis' zmalloc) */
    rc_buf_printf(b, "%llu B (", (unsigned long long)s->size);
    rc_stack_format(b, s->stack, RC_STACK_LINE, NULL, 2);
    rc_buf_put(b, ")", 1);
  }
  rc_buf_printf(b, " [root: ");
  rc_root_text(b, &p->root);
  rc_buf_put(b, "]", 1);
}

static void one_text(struct rc_buf *b, const struct rc_w_growth *g)
{
  rc_buf_printf(b, "reachcheck: growing: ");
  what_text(b, g);
  rc_buf_put(b, " +", 2);
  num(b, g->bytes_per_sec);
  rc_buf_printf(b, " bytes/s over %u snapshots (+", g->samples);
  num(b, g->blocks_per_sec);
  rc_buf_printf(b, " blocks/s");
  if (g->blocks_per_snap > 0) {
    rc_buf_printf(b, " of ");
    num(b, g->bytes_per_snap / g->blocks_per_snap);
    rc_buf_printf(b, " B each");
  }
  rc_buf_printf(b, "; +");
  num(b, g->bytes_per_snap);
  rc_buf_printf(b, " bytes and +");
  num(b, g->blocks_per_snap);
  rc_buf_printf(b, " block%s per snapshot; %llu bytes in %llu block%s now)", g->blocks_per_snap == 1 ? "" : "s",
                (unsigned long long)g->bytes,
                (unsigned long long)g->blocks, plural(g->blocks));
  if (g->site && g->kind != 3) {
    rc_buf_printf(b, ",\n            added by ");
    rc_stack_format(b, g->site, RC_STACK_LINE, NULL, 4);
  }
  if (g->has_path) {
    rc_buf_printf(b, ";\n            newest block: ");
    path_text(b, &g->path);
  }
  rc_buf_put(b, "\n", 1);
}

void rc_watch_text(struct rc_buf *b, const struct rc_w_growth *g, size_t n, unsigned nsamples, bool at_exit)
{
  if (!n) {
    rc_buf_printf(b, "reachcheck: watch: %u snapshot%s%s, nothing grows\n", nsamples, nsamples == 1 ? "" : "s",
                  at_exit ? " taken" : " so far");
    return;
  }
  for (size_t i = 0; i < n; i++) one_text(b, &g[i]);
}

/* ---- JSON ---- */
static void path_json(struct rc_buf *b, const struct rc_w_path *p)
{
  rc_buf_put(b, "[", 1);
  for (uint32_t i = 0; i < p->nsteps; i++) {
    const struct rc_why_step *s = &p->steps[i];
    if (i) rc_buf_put(b, ",", 1);
    if (s->is_root) {
      rc_buf_put(b, "{\"root\":", 8);
      rc_root_json(b, &p->root, true, s->offset);
      rc_buf_put(b, "}", 1);
      continue;
    }
    if (p->elided && i == 1 + RC_W_STEPS / 2) rc_buf_printf(b, "{\"elided\":%llu},", (unsigned long long)p->elided);
    rc_buf_printf(b, "{\"block\":{\"address\":\"0x%lx\",\"size\":%llu,\"offset\":%ld,\"stack\":", (unsigned long)s->addr,
                  (unsigned long long)s->size, s->offset);
    rc_stack_format(b, s->stack, RC_STACK_JSON, NULL, 0);
    rc_buf_put(b, "}}", 2);
  }
  rc_buf_put(b, "]", 1);
}

static void field(struct rc_buf *b, const char *name, double v)
{
  rc_buf_printf(b, ",\"%s\":", name);
  num(b, v);
}

static void one_json(struct rc_buf *b, const struct rc_w_growth *g)
{
  static const char *const kinds[] = {"?", "root", "block", "site"};
  rc_buf_printf(b, "{\"kind\":\"%s\",\"root\":", kinds[g->kind]);
  if (g->kind == 1 || (g->kind == 2 && g->block.nreach)) rc_root_json(b, &g->root, true, -1);
  else rc_buf_put(b, "null", 4);
  rc_buf_put(b, ",\"site\":", 8);
  rc_stack_format(b, g->site, RC_STACK_JSON, NULL, 0);
  field(b, "bytes_per_sec", g->bytes_per_sec);
  field(b, "blocks_per_sec", g->blocks_per_sec);
  field(b, "bytes_per_snapshot", g->bytes_per_snap);
  field(b, "blocks_per_snapshot", g->blocks_per_snap);
  rc_buf_printf(b, ",\"samples\":%u,\"intervals_grown\":%u,\"bytes\":%llu,\"blocks\":%llu", g->samples, g->grew,
                (unsigned long long)g->bytes, (unsigned long long)g->blocks);
  if (g->kind == 2) {
    rc_buf_printf(b, ",\"block\":{\"address\":\"0x%lx\",\"size\":%llu,\"site\":", (unsigned long)g->block.addr,
                  (unsigned long long)g->block.size);
    rc_stack_format(b, g->block.stack, RC_STACK_JSON, NULL, 0);
    rc_buf_put(b, ",\"roots\":[", 10);
    for (uint32_t k = 0; k < g->block.nreach; k++) {
      if (k) rc_buf_put(b, ",", 1);
      rc_root_json(b, &g->block.reach[k], true, -1);
    }
    rc_buf_printf(b, "],\"roots_total\":%u}", g->block.reach_total);
  }
  rc_buf_put(b, ",\"why\":", 7);
  if (g->has_path) path_json(b, &g->path);
  else rc_buf_put(b, "[]", 2);
  rc_buf_put(b, "}", 1);
}

void rc_watch_json_array(struct rc_buf *b, const struct rc_w_growth *g, size_t n)
{
  rc_buf_put(b, "[", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) rc_buf_put(b, ",", 1);
    one_json(b, &g[i]);
  }
  rc_buf_put(b, "]", 1);
}

/* ---- at exit, the endpoint ---- */
static double interval_s;   /* --watch, parsed */

#define OUT_MAX 64
static struct rc_w_growth *findings(size_t *n, unsigned *nsamples)
{
  struct rc_w_growth *g = rc_mmap(OUT_MAX * sizeof *g);
  *n = g ? rc_watch_findings(g, OUT_MAX, nsamples) : 0;
  return g;
}

void rc_watch_exit_text(int fd)
{
  if (!rc_watch_on()) return;
  size_t n;
  unsigned ns;
  struct rc_w_growth *g = findings(&n, &ns);
  if (!g) return;
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_watch_text(&b, g, n, ns, true);
  rc_buf_flush(&b);
  rc_munmap(g, OUT_MAX * sizeof *g);
}

void rc_watch_exit_json(struct rc_buf *b)
{
  if (!rc_watch_on()) return;
  size_t n;
  unsigned ns;
  struct rc_w_growth *g = findings(&n, &ns);
  if (!g) return;
  rc_buf_put(b, ",\"growth\":", 10);
  rc_watch_json_array(b, g, n);
  rc_buf_printf(b, ",\"watch\":{\"snapshots\":%u,\"keep\":%ld,\"interval_s\":%.3f}", ns, rc_opt.watch_keep, interval_s);
  rc_munmap(g, OUT_MAX * sizeof *g);
}

int rc_watch_page(struct rc_mbuf *out)
{
  if (!rc_watch_on()) {
    rc_mbuf_printf(out, "--watch is off: start the program with --watch=SECONDS\n");
    return 404;
  }
  size_t n;
  unsigned ns;
  struct rc_w_growth *g = findings(&n, &ns);
  int fd = (int)syscall(SYS_memfd_create, "reachcheck-growth", MFD_CLOEXEC);
  if (!g || fd < 0) {
    if (g) rc_munmap(g, OUT_MAX * sizeof *g);
    if (fd >= 0) close(fd);
    rc_mbuf_printf(out, "out of memory\n");
    return 500;
  }
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, "{\"pid\":%d,\"snapshots\":%u,\"keep\":%ld,\"interval_s\":%.3f,\"growth\":", (int)getpid(), ns,
                rc_opt.watch_keep, interval_s);
  rc_watch_json_array(&b, g, n);
  rc_buf_put(&b, "}\n", 2);
  rc_buf_flush(&b);
  rc_munmap(g, OUT_MAX * sizeof *g);
  char chunk[4096];
  ssize_t k;
  for (off_t at = 0; (k = pread(fd, chunk, sizeof chunk, at)) > 0; at += k) rc_mbuf_put(out, chunk, (size_t)k);
  close(fd);
  return out->oom ? 500 : 200;
}

/* ---- SARIF: one result per growing root (report/sarif.c asks) ---- */
size_t rc_watch_sarif(struct rc_sarif_growth *out, size_t max)
{
  size_t n;
  unsigned ns;
  struct rc_w_growth *g = findings(&n, &ns);
  if (!g) return 0;
  size_t k = 0;
  for (size_t i = 0; i < n && k < max; i++) {
    int fd = (int)syscall(SYS_memfd_create, "reachcheck-sarif", MFD_CLOEXEC);
    if (fd < 0) break;
    struct rc_buf b;
    rc_buf_init(&b, fd);
    what_text(&b, &g[i]);
    rc_buf_printf(&b, " grows by ");
    num(&b, g[i].bytes_per_snap);
    rc_buf_printf(&b, " bytes per snapshot (");
    num(&b, g[i].bytes_per_sec);
    rc_buf_printf(&b, " bytes/s) over %u snapshots", g[i].samples);
    rc_buf_flush(&b);
    ssize_t len = pread(fd, out[k].message, sizeof out[k].message - 1, 0);
    out[k].message[len > 0 ? len : 0] = 0;
    close(fd);
    out[k].stack = g[i].site;
    out[k].bytes_per_snapshot = g[i].bytes_per_snap;
    out[k].bytes_per_sec = g[i].bytes_per_sec;
    out[k].kind = g[i].kind;
    k++;
  }
  rc_munmap(g, OUT_MAX * sizeof *g);
  return k;
}

/* ---- start-up ---- */
static void after_sample(const struct rc_w_growth *g, size_t n, unsigned nsamples)
{
  if (!rc_opt.watch_report) return;
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_watch_text(&b, g, n, nsamples, false);
  rc_buf_flush(&b);
}

void rc_watch_init(void)
{
  if (!rc_opt.watch[0]) return;
  char *end;
  double s = strtod(rc_opt.watch, &end);
  if (*end || !(s >= 0.01 && s <= 86400)) {
    rc_log("bad value for option 'watch=%s' (want seconds between samples, 0.01 to 86400, e.g. 10 or 0.5)",
           rc_opt.watch);
    _exit(2);
  }
  if (rc_opt.watch_keep < 2 || rc_opt.watch_keep > RC_WATCH_KEEP_MAX) {
    rc_log("bad value for option 'watch_keep=%ld' (want 2 to %d snapshots)", rc_opt.watch_keep, RC_WATCH_KEEP_MAX);
    _exit(2);
  }
  interval_s = s;
  rc_sarif_set_growth(rc_watch_sarif);
  rc_watch_start(s, (unsigned)rc_opt.watch_keep, after_sample);
}
