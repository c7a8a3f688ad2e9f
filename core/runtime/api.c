/* The public API of include/reachcheck.h: checks on demand, leak scopes
 * (allocation epochs) and reachability of one block. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "runtime/runtime.h"

REACHCHECK_API int reachcheck_active(void) { return rc_heap_ready(); }

static void copy_out(struct reachcheck_result *out, const struct rc_result *r)
{
  if (!out) return;
  out->direct_blocks = r->direct_blocks;
  out->direct_bytes = r->direct_bytes;
  out->indirect_blocks = r->indirect_blocks;
  out->indirect_bytes = r->indirect_bytes;
  out->reachable_blocks = r->reachable_blocks;
  out->reachable_bytes = r->reachable_bytes;
  out->suppressed_blocks = r->suppressed_blocks;
  out->suppressed_bytes = r->suppressed_bytes;
  out->ignored_blocks = r->ignored_blocks;
  out->ignored_bytes = r->ignored_bytes;
}

/* In RC_CHECK_ONLY_NEW mode collect() counts every leaked block in the
 * totals but groups only the new ones: take the leak totals from the groups,
 * so a repeated check counts what it lists. Idempotent once check.c counts
 * only new blocks itself. */
static void totals_from_groups(struct rc_result *r)
{
  r->direct_blocks = r->direct_bytes = r->indirect_blocks = r->indirect_bytes = 0;
  r->suppressed_blocks = r->suppressed_bytes = 0;
  const struct rc_leak_group *g = (const struct rc_leak_group *)r->groups.data;
  for (size_t i = 0; i < r->groups.len; i++) {
    if (g[i].kind != RC_KIND_DIRECT && g[i].kind != RC_KIND_INDIRECT) continue;
    if (g[i].suppressed) {
      r->suppressed_blocks += g[i].blocks;
      r->suppressed_bytes += g[i].bytes;
    } else if (g[i].kind == RC_KIND_DIRECT) {
      r->direct_blocks += g[i].blocks;
      r->direct_bytes += g[i].bytes;
    } else {
      r->indirect_blocks += g[i].blocks;
      r->indirect_bytes += g[i].bytes;
    }
  }
}

static long run(struct reachcheck_result *out, int print, int mode, uint32_t min_epoch)
{
  if (!rc_heap_ready()) return -1;
  struct rc_result r;
  struct rc_check_req req = {.mode = mode, .min_epoch = min_epoch};
  if (rc_check_run(&req, &r)) {
    rc_result_free(&r);
    return -1;
  }
  if (mode & RC_CHECK_ONLY_NEW) totals_from_groups(&r);
  copy_out(out, &r);
  /* print 1: the report when something leaked; 2: always (with the summary). */
  if (print > 1 || (print && r.direct_blocks + r.indirect_blocks)) {
    rc_in_runtime++;
    rc_report_text(rc_err_fd, &r);
    rc_in_runtime--;
  }
  long n = (long)(r.direct_blocks + r.indirect_blocks);
  rc_result_free(&r);
  return n;
}

REACHCHECK_API long reachcheck_check(struct reachcheck_result *out, int print) { return run(out, print, 0, 0); }

REACHCHECK_API long reachcheck_check_new(struct reachcheck_result *out, int print)
{
  return run(out, print, RC_CHECK_ONLY_NEW, 0);
}

/* A scope is an allocation epoch: every block remembers the epoch it was
 * allocated (or last reallocated) in, whatever the thread. */
REACHCHECK_API uint32_t reachcheck_scope_begin(void)
{
  if (!rc_heap_ready()) return 0;
  return rc_epoch_advance();
}

REACHCHECK_API long reachcheck_scope_end(uint32_t token, struct reachcheck_result *out, int print)
{
  if (!token) return -1;   /* from a scope_begin without the runtime */
  return run(out, print, 0, token);
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

/* ---- reachcheck_is_reachable ----
 * The caller necessarily holds p in its own frame or registers, so "is p
 * reachable" means: reachable without the calling thread's stack and
 * register words that point into the block itself. The first mark is the
 * ordinary one; if it reached the block, a second mark from the recorded
 * roots skips exactly those words. Everything runs with the world stopped:
 * root ranges go to an mmap-backed vector, never the checked heap. */
struct root_rec { uintptr_t lo, hi; int own; };
struct reach_ctx {
  const void *p;
  long tid;
  struct rc_vec roots;
  int answer;     /* -1 no block, 0 leaked, 1 reachable */
};

static void reach_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *rr)
{
  struct reach_ctx *c = ctx;
  struct root_rec *r = rc_vec_push(&c->roots);
  if (!r) return;   /* out of memory: the second mark misses this root, at worst a false "leaked" */
  r->lo = lo;
  r->hi = hi;
  r->own = rr->thread == c->tid && (rr->kind == RC_ROOT_STACK || rr->kind == RC_ROOT_REGISTER);
}

/* Mark [lo, hi) except the aligned words that point into [ulo, uhi]. */
static void mark_skipping(struct rc_mark *m, uintptr_t lo, uintptr_t hi, uintptr_t ulo, uintptr_t uhi)
{
  lo = (lo + 7) & ~(uintptr_t)7;
  uintptr_t from = lo;
  for (uintptr_t a = lo; a + 8 <= hi; a += 8) {
    uintptr_t w = *(const uintptr_t *)a;
    if (w >= ulo && w <= uhi) {
      rc_mark_range(m, from, a);
      from = a + 8;
    }
  }
  rc_mark_range(m, from, hi);
}

static void reach_after_mark(void *ctx, struct rc_mark *m)
{
  struct reach_ctx *c = ctx;
  struct rc_hdr *target = rc_block_of((uintptr_t)c->p);
  if (!target) {
    c->answer = -1;
    return;
  }
  if (!rc_mark_is_marked(m, target->slot)) {
    c->answer = 0;
    return;
  }
  if (rc_hdr_flags(target) & (RC_F_IGNORED | RC_F_LDSO)) {
    c->answer = 1;
    return;
  }
  uintptr_t ulo = (uintptr_t)rc_hdr_user(target), uhi = ulo + rc_hdr_size(target);
  rc_mark_reset(m);
  const struct root_rec *r = (const struct root_rec *)c->roots.data;
  for (size_t i = 0; i < c->roots.len; i++) {
    if (r[i].own) mark_skipping(m, r[i].lo, r[i].hi, ulo, uhi);
    else rc_mark_range(m, r[i].lo, r[i].hi);
  }
  struct rc_hdr *h;
  for (uint32_t i = 1; (h = rc_mark_root_block(m, &i)) != NULL; i++) rc_mark_block(m, h);
  c->answer = rc_mark_is_marked(m, target->slot) ? 1 : 0;
}

REACHCHECK_API int reachcheck_is_reachable(const void *p)
{
  if (!rc_heap_ready() || !p) return -1;
  struct reach_ctx c = {.p = p, .tid = (long)syscall(SYS_gettid), .answer = -1};
  rc_vec_init(&c.roots, sizeof(struct root_rec));
  struct rc_check_hooks hooks = {.ctx = &c, .root = reach_root, .after_mark = reach_after_mark};
  struct rc_check_req req = {.mode = RC_CHECK_NO_GROUPS, .hooks = &hooks};
  struct rc_result r;
  int err = rc_check_run(&req, &r);
  rc_result_free(&r);
  rc_vec_free(&c.roots);
  return err ? -1 : c.answer;
}
