/* Retention in the at-exit report: the roots that retain the most memory,
 * with their top allocation sites (text and JSON), and the why-paths asked
 * for with why_size / why_site. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "retain/retain.h"

#define TOP_SITES 5

/* ---- the at-exit report ---- */
struct retainer {
  struct rc_root root;
  uint64_t blocks, bytes;
  uint32_t nsites;
  struct rc_site_sum sites[TOP_SITES];
};

static struct {
  struct rc_rootset rs;
  struct rc_check_hooks hooks;
  bool want_ret, want_why, ran, failed;
  bool keep, have_own;   /* the owners stay for the at-exit profile (rc_retain_exit_owners) */
  struct rc_own own;
  uint8_t *why_stacks;
  uint32_t why_nstacks;
  struct rc_vec ret;   /* struct retainer, by bytes */
  struct rc_vec why;   /* struct rc_why */
  uint64_t graph_blocks, graph_bytes, shared_blocks, shared_bytes;
  uint32_t nretaining;
  double ms, ms_graph, ms_own;
  bool beside;   /* ran on the helper thread, beside the leak aggregation */
  uint64_t nodes, edges;
} X;

/* Insert into a descending top-k array. */
static void top_insert(struct rc_site_sum *a, uint32_t *n, uint32_t k, const struct rc_site_sum *e)
{
  uint32_t i = *n < k ? (*n)++ : k;
  if (i == k) {
    if (e->bytes <= a[k - 1].bytes) return;
    i = k - 1;
  }
  while (i > 0 && (a[i - 1].bytes < e->bytes || (a[i - 1].bytes == e->bytes && a[i - 1].blocks < e->blocks))) {
    a[i] = a[i - 1];
    i--;
  }
  a[i] = *e;
}

static void exit_retainers(const struct rc_rootset *rs, const struct rc_own *o)
{
  uint32_t want = (uint32_t)(rc_opt.retainers > 100000 ? 100000 : rc_opt.retainers);
  uint32_t *rank = rc_map_array(o->nroots, 4);   /* root -> rank + 1 */
  uint32_t *order = rc_map_array(want, 4);
  uint32_t nsel = 0;
  if (!rank || !order) {
    X.failed = true;
    goto out;
  }
  nsel = rc_top_roots(o->rbytes, o->rblocks, o->nroots, order, want, &X.nretaining);
  for (uint32_t i = 0; i < nsel; i++) {
    rank[order[i]] = i + 1;
    struct retainer *rt = rc_vec_push(&X.ret);
    if (!rt) {
      X.failed = true;
      goto out;
    }
    rt->root = *rc_rootset_at(rs, order[i]);
    rt->bytes = o->rbytes[order[i] + 1];
    rt->blocks = o->rblocks[order[i] + 1];
  }
  X.graph_blocks = o->rblocks[0];
  X.graph_bytes = o->rbytes[0];
  X.shared_blocks = o->shared_blocks;
  X.shared_bytes = o->shared_bytes;
  /* Allocation sites under each selected root: the ownership pass summed
   * them by (root, stack) as it coloured the blocks (owner.c). */
  struct retainer *rt = (struct retainer *)X.ret.data;
  for (size_t i = 0; i < o->sites.cap; i++) {
    const struct rc_site_sum *e = &o->sites.e[i];
    if (!e->owner || !e->blocks || !rank[e->owner - 1]) continue;
    struct rc_site_sum s = *e;
    s.owner = rank[e->owner - 1];
    top_insert(rt[s.owner - 1].sites, &rt[s.owner - 1].nsites, TOP_SITES, &s);
  }
out:
  rc_unmap_array(rank, o->nroots, 4);
  rc_unmap_array(order, want, 4);
}

static void exit_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  (void)ctx;
  rc_rootset_defer(&X.rs, lo, hi, r);   /* named in exit_after_mark, if the report is not silent */
}

/* Will the at-exit report print nothing? It prints retention only next to
 * leaks or an overwritten header (or with verbose / show_reachable), and
 * the JSON report always carries it; otherwise the owners of a
 * clean program's whole heap would be computed for nobody. Mirrors init.c's
 * "say" from the mark alone (a leak that a suppression later hides still
 * counts: then retention is computed and not shown). */
static bool exit_report_silent(const struct rc_mark *m)
{
  if (rc_opt.json[0] || rc_opt.verbose || rc_opt.show_reachable) return false;
  size_t n;
  uint64_t corrupt_listed;
  const uint32_t *list = rc_mark_unmarked_live(m, &n, &corrupt_listed);
  if (list) {   /* classify's list (not when this runs beside it, on the helper) */
    if (corrupt_listed) return false;
    for (size_t k = 0; k < n; k++)
      if (!(rc_hdr_flags(rc_slot_hdr(list[k])) & RC_F_IGNORED)) return false;
    return true;
  }
  for (uint32_t i = rc_mark_next_unmarked(m, 1); i < m->nslots; i = rc_mark_next_unmarked(m, i + 1)) {
    bool corrupt;
    struct rc_hdr *h = rc_mark_live_or_corrupt(i, &corrupt);
    if (h ? !(rc_hdr_flags(h) & RC_F_IGNORED) : corrupt) return false;   /* a leak, or an overwritten header */
  }
  return true;
}

/* The why-paths asked for (why_size, why_site): breadth-first over the
 * graph, built only for them. */
static void exit_why(struct rc_mark *m)
{
  double t0 = rc_now_ms();
  struct rc_graph g;
  if (rc_graph_build(&g, m, &X.rs)) {
    X.failed = true;
    rc_graph_free(&g);
    return;
  }
  X.ms_graph = rc_now_ms() - t0;
  X.nodes = g.n;
  X.edges = g.nedges;
  uint8_t *want = rc_map_array(g.nslots / 8 + 1, 1);
  if (want) {
    for (uint32_t v = 1; v <= g.nblocks; v++) {
      bool hit = rc_opt.why_size > 0 && rc_graph_size(&g, v) == (uint64_t)rc_opt.why_size;
      uint32_t st = rc_graph_hdr(&g, v)->stack;
      if (X.why_stacks && st < X.why_nstacks && (X.why_stacks[st >> 3] >> (st & 7) & 1)) hit = true;
      if (hit) want[g.slot_of[v] >> 3] |= (uint8_t)(1u << (g.slot_of[v] & 7));
    }
    if (rc_why_paths(&g, want, 32, &X.why, NULL)) X.failed = true;
    rc_unmap_array(want, g.nslots / 8 + 1, 1);
  } else {
    X.failed = true;
  }
  rc_graph_free(&g);
}

static void exit_after_mark(void *ctx, struct rc_mark *m)
{
  (void)ctx;
  if (exit_report_silent(m)) {
    rc_rootset_free(&X.rs);
    return;
  }
  double t0 = rc_now_ms();
  X.ran = true;
  X.beside = rc_helper_self();
  rc_rootset_replay(&X.rs);
  if (X.want_ret) {   /* ownership: the dominator tree's answer without the tree (owner.c) */
    if (rc_own_compute(m, &X.rs, &X.own, true)) {
      X.failed = true;
    } else {
      X.have_own = true;
      X.ms_own = rc_now_ms() - t0;
      exit_retainers(&X.rs, &X.own);
    }
  }
  if (X.want_why) exit_why(m);
  if (X.rs.failed) X.failed = true;
  if (!X.keep) rc_retain_exit_release();
  X.ms = rc_now_ms() - t0;
}

const struct rc_own *rc_retain_exit_owners(const struct rc_rootset **rs)
{
  if (!X.have_own || X.failed) return NULL;
  *rs = &X.rs;
  return &X.own;
}

void rc_retain_exit_release(void)
{
  if (X.have_own) rc_own_free(&X.own);
  X.have_own = false;
  rc_rootset_free(&X.rs);
}

const struct rc_check_hooks *rc_retain_exit_hooks(bool keep)
{
  X.keep = keep;
  X.want_ret = rc_opt.retainers > 0;
  X.want_why = rc_opt.why_size > 0 || rc_opt.why_site[0];
  if (!X.want_ret && !X.want_why) return NULL;
  rc_modules_refresh();   /* dlopen'ed modules: names at check time need them */
  if (rc_opt.why_site[0]) X.why_stacks = rc_why_site_stacks(&X.why_nstacks);
  rc_rootset_init(&X.rs);
  rc_vec_init(&X.ret, sizeof(struct retainer));
  rc_vec_init(&X.why, sizeof(struct rc_why));
  X.hooks.ctx = NULL;
  X.hooks.root = exit_root;
  X.hooks.after_mark = exit_after_mark;
  X.hooks.concurrent = true;   /* marks, headers, the root set: none of them the leak aggregation's */
  return &X.hooks;
}

static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

void rc_retain_exit_text(int fd)
{
  if (!X.ran) return;
  struct rc_buf b;
  rc_buf_init(&b, fd);
  if (X.failed) rc_buf_printf(&b, "reachcheck: warning: out of memory in the retention analysis; results are incomplete\n");
  if (X.want_ret && X.ret.len) {
    rc_buf_printf(&b, "\n==%d== reachcheck: retained memory, top %zu of %u root%s (dominator tree: what freeing the root "
                      "would free); %llu reachable byte%s in %llu block%s",
                  (int)getpid(), X.ret.len, X.nretaining, X.nretaining == 1 ? "" : "s",
                  (unsigned long long)X.graph_bytes, plural(X.graph_bytes), (unsigned long long)X.graph_blocks,
                  plural(X.graph_blocks));
    if (X.shared_blocks)   /* the super-root's own: no single root retains them (docs/retention.md) */
      rc_buf_printf(&b, ", of which %llu in %llu block%s reachable from several roots and retained by none",
                    (unsigned long long)X.shared_bytes, (unsigned long long)X.shared_blocks, plural(X.shared_blocks));
    rc_buf_printf(&b, "\n");
    const struct retainer *rt = (const struct retainer *)X.ret.data;
    for (size_t i = 0; i < X.ret.len; i++) {
      rc_buf_printf(&b, "  #%zu ", i + 1);
      rc_root_text(&b, &rt[i].root);
      rc_buf_printf(&b, ": retains %llu byte%s in %llu block%s\n", (unsigned long long)rt[i].bytes,
                    plural(rt[i].bytes), (unsigned long long)rt[i].blocks, plural(rt[i].blocks));
      for (uint32_t k = 0; k < rt[i].nsites && k < 3; k++) {
        const struct rc_site_sum *st = &rt[i].sites[k];
        rc_buf_printf(&b, "      %llu byte%s in %llu block%s from ", (unsigned long long)st->bytes, plural(st->bytes),
                      (unsigned long long)st->blocks, plural(st->blocks));
        rc_stack_format(&b, st->stack, RC_STACK_LINE, NULL, 3);
        rc_buf_put(&b, "\n", 1);
      }
      if (rt[i].nsites > 3) rc_buf_printf(&b, "      ... more sites and full stacks in the JSON report\n");
    }
  }
  for (size_t i = 0; i < X.why.len; i++) rc_why_text(&b, &((const struct rc_why *)X.why.data)[i]);
  if (rc_opt.verbose)
    rc_buf_printf(&b, "reachcheck: retention: owners %.2f ms; why graph %llu nodes, %llu edges, %.2f ms; total %.2f ms, "
                      "on %s thread\n", X.ms_own, (unsigned long long)X.nodes, (unsigned long long)X.edges, X.ms_graph,
                  X.ms, X.beside ? "the helper" : "the checking");
  rc_buf_flush(&b);
}

void rc_retain_exit_json(struct rc_buf *b)
{
  if (!X.ran) return;
  rc_buf_put(b, ",\"retainers\":[", 14);
  const struct retainer *rt = (const struct retainer *)X.ret.data;
  for (size_t i = 0; i < X.ret.len; i++) {
    rc_buf_put(b, i ? ",{\"root\":" : "{\"root\":", i ? 9 : 8);
    rc_root_json(b, &rt[i].root, true, -1);
    rc_buf_printf(b, ",\"retained\":{\"blocks\":%llu,\"bytes\":%llu},\"top_sites\":[", (unsigned long long)rt[i].blocks,
                  (unsigned long long)rt[i].bytes);
    for (uint32_t k = 0; k < rt[i].nsites; k++) {
      const struct rc_site_sum *s = &rt[i].sites[k];
      rc_buf_printf(b, "%s{\"blocks\":%llu,\"bytes\":%llu,\"stack\":", k ? "," : "", (unsigned long long)s->blocks,
                    (unsigned long long)s->bytes);
      rc_stack_format(b, s->stack, RC_STACK_JSON, NULL, 0);
      rc_buf_put(b, "}", 1);
    }
    rc_buf_put(b, "]}", 2);
  }
  rc_buf_printf(b, "],\"retention\":{\"reachable\":{\"blocks\":%llu,\"bytes\":%llu},\"shared\":{\"blocks\":%llu,"
                   "\"bytes\":%llu},\"roots\":%u,\"ms\":%.3f,\"complete\":%s},\"why\":[",
                (unsigned long long)X.graph_blocks, (unsigned long long)X.graph_bytes,
                (unsigned long long)X.shared_blocks, (unsigned long long)X.shared_bytes, X.nretaining, X.ms,
                X.failed ? "false" : "true");
  for (size_t i = 0; i < X.why.len; i++) {
    if (i) rc_buf_put(b, ",", 1);
    rc_why_json(b, &((const struct rc_why *)X.why.data)[i]);
  }
  rc_buf_put(b, "]", 1);
}

