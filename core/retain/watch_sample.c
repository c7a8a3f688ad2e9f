/* One growth sample (retain/watch.h): stop, fork, resume, as snapshots do
 * (retain/snapshot.c); the forked copy marks, builds the graph and its
 * dominator tree, and writes into a MAP_SHARED mapping what the program
 * keeps: per root and per top block (the dominator tree's children of the
 * super-root, retained by no single root) the retained bytes, what of them
 * was allocated since the last sample (allocation epochs, heap/heap.h) and
 * from which site, a block of the last interval and the why-path to it; per
 * allocation site the live bytes. The copy has only the forking thread while
 * stopped ones may hold locks: no malloc, no libdw, memory from rc_mmap. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "retain/watch.h"

#define REACH_BUDGET 4000000u   /* nodes visited in all reverse searches of one sample */

struct wctx {
  struct rc_rootset rs;
  struct rc_w_sample *out;
  uint32_t since;
  uint64_t budget;
};

/* ---- top blocks and the roots that reach them ---- */
size_t rc_w_top_blocks(const struct rc_graph *g, const struct rc_dom *d, struct rc_w_top *out, size_t max)
{
  uint64_t *bytes = rc_map_array((size_t)g->nblocks + 1, 8), *blocks = rc_map_array((size_t)g->nblocks + 1, 8);
  size_t n = 0;
  if (!bytes || !blocks || !max) goto out;
  for (uint32_t v = 1; v <= g->nblocks; v++) {
    uint32_t t = d->top[v];
    if (t > g->nblocks) continue;   /* retained by a root */
    bytes[t] += rc_graph_size(g, v);
    blocks[t]++;
  }
  for (uint32_t v = 1; v <= g->nblocks; v++) {
    if (d->top[v] != v) continue;
    /* insertion into the top-max list, biggest first */
    size_t i = n < max ? n++ : max;
    if (i == max) {
      if (bytes[v] <= out[max - 1].bytes) continue;
      i = max - 1;
    }
    while (i > 0 && out[i - 1].bytes < bytes[v]) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = (struct rc_w_top){v, bytes[v], blocks[v]};
  }
out:
  rc_unmap_array(bytes, (size_t)g->nblocks + 1, 8);
  rc_unmap_array(blocks, (size_t)g->nblocks + 1, 8);
  return n;
}

/* Predecessors in CSR form (the graph keeps successors only). */
struct preds { uint32_t *off, *pred, *seen, *queue; uint32_t stamp; };

static bool preds_build(const struct rc_graph *g, struct preds *p)
{
  p->off = rc_map_array((size_t)g->n + 1, 4);
  p->pred = rc_map_array(g->nedges, 4);
  p->seen = rc_map_array(g->n, 4);
  p->queue = rc_map_array(g->n, 4);
  if (!p->off || !p->pred || !p->seen || !p->queue) return false;
  for (uint32_t u = 1; u < g->n; u++)
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) p->off[g->succ[e] + 1]++;
  for (uint32_t v = 0; v < g->n; v++) p->off[v + 1] += p->off[v];
  uint32_t *cur = p->seen;   /* borrowed as the fill cursor, cleared below */
  for (uint32_t u = 1; u < g->n; u++)
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) {
      uint32_t v = g->succ[e];
      p->pred[p->off[v] + cur[v]++] = u;
    }
  memset(p->seen, 0, (size_t)g->n * 4);
  return true;
}

static void preds_free(const struct rc_graph *g, struct preds *p)
{
  rc_unmap_array(p->off, (size_t)g->n + 1, 4);
  rc_unmap_array(p->pred, g->nedges, 4);
  rc_unmap_array(p->seen, g->n, 4);
  rc_unmap_array(p->queue, g->n, 4);
}

static uint32_t reaching(const struct rc_graph *g, struct preds *p, uint32_t v, uint32_t *out, uint32_t max,
                         uint64_t *budget)
{
  uint32_t found = 0, qh = 0, qt = 0;
  p->stamp++;
  p->seen[v] = p->stamp;
  p->queue[qt++] = v;
  while (qh < qt && *budget) {
    uint32_t u = p->queue[qh++];
    (*budget)--;
    if (rc_graph_is_root(g, u)) {
      if (found < max) out[found] = u - g->nblocks - 1;
      found++;
      continue;
    }
    for (uint32_t e = p->off[u]; e < p->off[u + 1]; e++) {
      uint32_t w = p->pred[e];
      if (p->seen[w] == p->stamp) continue;
      p->seen[w] = p->stamp;
      p->queue[qt++] = w;
    }
  }
  return found;
}

uint32_t rc_w_reaching_roots(const struct rc_graph *g, uint32_t v, uint32_t *out, uint32_t max)
{
  struct preds p;
  memset(&p, 0, sizeof p);
  uint64_t budget = REACH_BUDGET;
  uint32_t n = preds_build(g, &p) ? reaching(g, &p, v, out, max, &budget) : 0;
  preds_free(g, &p);
  return n;
}

/* The snapshot's blocks[]: the top blocks by retained size, with the roots
 * that reach each (one predecessor table for all of them). */
void rc_w_blocks_json(struct rc_buf *b, const struct rc_graph *g, const struct rc_dom *d, size_t max)
{
  struct rc_w_top *top = rc_map_array(max, sizeof *top);
  size_t n = top ? rc_w_top_blocks(g, d, top, max) : 0;
  struct preds p;
  memset(&p, 0, sizeof p);
  bool have = n && preds_build(g, &p);
  uint64_t budget = REACH_BUDGET;
  rc_buf_put(b, ",\"blocks\":[", 11);
  for (size_t i = 0; i < n; i++) {
    struct rc_hdr *h = rc_graph_hdr(g, top[i].node);
    rc_buf_printf(b, "%s{\"address\":\"0x%lx\",\"size\":%llu,\"site\":%u,\"retained\":{\"blocks\":%llu,\"bytes\":%llu},"
                     "\"roots\":[", i ? "," : "", (unsigned long)(uintptr_t)rc_hdr_user(h),
                  (unsigned long long)rc_hdr_size(h), h->stack, (unsigned long long)top[i].blocks,
                  (unsigned long long)top[i].bytes);
    uint32_t rr[RC_W_REACH], total = have ? reaching(g, &p, top[i].node, rr, RC_W_REACH, &budget) : 0;
    for (uint32_t k = 0; k < total && k < RC_W_REACH; k++) {
      if (k) rc_buf_put(b, ",", 1);
      rc_root_json(b, rc_rootset_at(g->rs, rr[k]), false, -1);
    }
    rc_buf_printf(b, "],\"roots_total\":%u}", total);
  }
  rc_buf_put(b, "]", 1);
  preds_free(g, &p);
  rc_unmap_array(top, max, sizeof *top);
}

/* ---- in the forked copy ---- */
/* Per owner node (a root node or a top block): what it gained since the
 * last sample and a block of the last interval. */
struct gains { uint64_t *bytes, *blocks; uint32_t *newest, *newest_ep; struct rc_site_tab sites; };

static bool gains_collect(const struct rc_graph *g, const struct rc_dom *d, uint32_t since, struct gains *gn)
{
  gn->bytes = rc_map_array(g->n, 8);
  gn->blocks = rc_map_array(g->n, 8);
  gn->newest = rc_map_array(g->n, 4);
  gn->newest_ep = rc_map_array(g->n, 4);
  if (!gn->bytes || !gn->blocks || !gn->newest || !gn->newest_ep || rc_site_tab_init(&gn->sites, 256))
    return false;
  if (!since) return true;   /* the first sample: nothing is new */
  for (uint32_t v = 1; v <= g->nblocks; v++) {
    uint32_t slot = g->slot_of[v], ep = rc_slot_epoch[slot];
    if (ep < since) continue;
    struct rc_hdr *h = rc_graph_hdr(g, v);
    uint32_t t = d->top[v];
    uint64_t sz = rc_hdr_size(h);
    gn->bytes[t] += sz;
    gn->blocks[t]++;
    if (ep >= gn->newest_ep[t]) {
      gn->newest_ep[t] = ep;
      gn->newest[t] = v;
    }
    struct rc_site_sum *e = rc_site_add(&gn->sites, t, h->stack);
    if (!e) return false;
    e->blocks++;
    e->bytes += sz;
  }
  return true;
}

static void gains_free(const struct rc_graph *g, struct gains *gn)
{
  rc_unmap_array(gn->bytes, g->n, 8);
  rc_unmap_array(gn->blocks, g->n, 8);
  rc_unmap_array(gn->newest, g->n, 4);
  rc_unmap_array(gn->newest_ep, g->n, 4);
  rc_site_tab_free(&gn->sites);
}

static void owner_fill(const struct rc_graph *g, const struct gains *gn, uint32_t node, uint64_t bytes, uint64_t blocks,
                       struct rc_w_owner *o)
{
  o->bytes = bytes;
  o->blocks = blocks;
  o->new_bytes = gn->bytes[node];
  o->new_blocks = gn->blocks[node];
  uint32_t v = gn->newest[node];
  if (v) {
    o->newest = (uintptr_t)rc_hdr_user(rc_graph_hdr(g, v));
    o->newest_slot = g->slot_of[v];
  }
}

/* The roots retaining the most, into out->roots; sel[node] = owner index + 1. */
static void pick_roots(const struct rc_graph *g, const struct rc_dom *d, const struct gains *gn, struct rc_w_sample *out,
                       uint32_t *sel)
{
  uint32_t idx[RC_W_ROOTS], n = rc_top_roots(d->rbytes, d->rblocks, g->nroots, idx, RC_W_ROOTS, NULL);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t r = idx[i], node = rc_graph_root_node(g, r);
    struct rc_w_root *w = &out->roots[i];
    w->root = *rc_rootset_at(g->rs, r);
    owner_fill(g, gn, node, d->rbytes[r + 1], d->rblocks[r + 1], &w->o);
    sel[node] = i + 1;
  }
  out->nroots = n;
}

static void pick_blocks(const struct rc_graph *g, const struct rc_dom *d, const struct gains *gn, struct rc_w_sample *out,
                        uint32_t *sel, uint64_t *budget)
{
  struct rc_w_top top[RC_W_BLOCKS];
  size_t n = rc_w_top_blocks(g, d, top, RC_W_BLOCKS);
  struct preds p;
  memset(&p, 0, sizeof p);
  bool have_preds = n && preds_build(g, &p);
  for (size_t i = 0; i < n; i++) {
    struct rc_w_block *b = &out->blocks[i];
    struct rc_hdr *h = rc_graph_hdr(g, top[i].node);
    b->addr = (uintptr_t)rc_hdr_user(h);
    b->size = rc_hdr_size(h);
    b->stack = h->stack;
    owner_fill(g, gn, top[i].node, top[i].bytes, top[i].blocks, &b->o);
    sel[top[i].node] = RC_W_ROOTS + (uint32_t)i + 1;
    if (!have_preds) continue;
    uint32_t rr[RC_W_REACH];
    b->reach_total = reaching(g, &p, top[i].node, rr, RC_W_REACH, budget);
    b->nreach = b->reach_total < RC_W_REACH ? b->reach_total : RC_W_REACH;
    for (uint32_t k = 0; k < b->nreach; k++) b->reach[k] = *rc_rootset_at(g->rs, rr[k]);
  }
  preds_free(g, &p);
  out->nblocks = (uint32_t)n;
}

static struct rc_w_owner *owner_at(struct rc_w_sample *out, uint32_t s)
{
  return s <= RC_W_ROOTS ? &out->roots[s - 1].o : &out->blocks[s - RC_W_ROOTS - 1].o;
}

/* The site that allocated most of each selected owner's new bytes. */
static void pick_new_sites(const struct gains *gn, const uint32_t *sel, struct rc_w_sample *out)
{
  for (size_t i = 0; i < gn->sites.cap; i++) {
    const struct rc_site_sum *e = &gn->sites.e[i];
    if (!e->blocks || !sel[e->owner]) continue;
    struct rc_w_owner *o = owner_at(out, sel[e->owner]);
    if (e->bytes > o->new_site_bytes || (e->bytes == o->new_site_bytes && e->stack < o->new_site)) {
      o->new_site = e->stack;
      o->new_site_bytes = e->bytes;
      o->new_site_blocks = e->blocks;
    }
  }
}

/* Live bytes by allocation site (every live block, reachable or not), a
 * site being the code that called the allocator (a stack's innermost
 * frame): a cache whose entries are replaced from another caller moves
 * bytes between stacks, not between sites. Each site is shown with the
 * stack that holds most of its bytes. */
struct site_acc { uintptr_t pc; uint64_t bytes, blocks, rep_bytes; uint32_t rep; };

static struct site_acc *site_slot(struct site_acc *t, size_t cap, uintptr_t pc)
{
  size_t i = (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
  while (t[i].pc && t[i].pc != pc) i = (i + 1) & (cap - 1);
  t[i].pc = pc;
  return &t[i];
}

static void pick_sites(struct rc_mark *m, struct rc_w_sample *out)
{
  uint32_t nst = rc_depot_count() + 1;
  size_t cap = 64;
  while (cap < (size_t)nst * 2) cap *= 2;
  uint64_t *bytes = rc_map_array(nst, 8), *blocks = rc_map_array(nst, 8);
  struct site_acc *t = rc_map_array(cap, sizeof *t);
  if (bytes && blocks && t) {
    for (uint32_t i = 1; i < m->nslots; i++) {
      struct rc_hdr *h = rc_mark_live(i);
      if (!h || (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED)) || h->stack >= nst) continue;
      bytes[h->stack] += rc_hdr_size(h);
      blocks[h->stack]++;
      out->live_bytes += rc_hdr_size(h);
      out->live_blocks++;
    }
    for (uint32_t s = 1; s < nst; s++) {
      if (!blocks[s]) continue;
      const struct rc_stack *st = rc_depot_get(s);
      struct site_acc *a = site_slot(t, cap, st && st->depth ? st->pc[0] : (uintptr_t)s);
      a->bytes += bytes[s];
      a->blocks += blocks[s];
      if (bytes[s] > a->rep_bytes) {
        a->rep_bytes = bytes[s];
        a->rep = s;
      }
    }
    uint32_t n = 0;
    for (size_t k = 0; k < cap; k++) {
      const struct site_acc *a = &t[k];
      if (!a->blocks) continue;
      uint32_t i = n < RC_W_SITES ? n++ : RC_W_SITES;
      if (i == RC_W_SITES) {
        if (a->bytes <= out->sites[RC_W_SITES - 1].bytes) continue;
        i = RC_W_SITES - 1;
      }
      while (i > 0 && out->sites[i - 1].bytes < a->bytes) {
        out->sites[i] = out->sites[i - 1];
        i--;
      }
      out->sites[i] = (struct rc_w_site){a->rep, a->pc, a->bytes, a->blocks};
    }
    out->nsites = n;
  }
  rc_unmap_array(bytes, nst, 8);
  rc_unmap_array(blocks, nst, 8);
  rc_unmap_array(t, cap, sizeof *t);
}

static void copy_path(const struct rc_why *w, struct rc_w_path *p)
{
  p->target = w->addr;
  p->root = w->root;
  p->elided = w->elided;
  const struct rc_why_step *s = (const struct rc_why_step *)w->steps.data;
  size_t n = w->steps.len, half = RC_W_STEPS / 2;
  for (size_t i = 0; i < n; i++) {
    if (n > RC_W_STEPS + 1 && i > half && i < n - half) {
      p->elided++;
      continue;
    }
    p->steps[p->nsteps++] = s[i];
  }
}

/* Why-paths to the newest block of the owners that gained the most. */
static void pick_paths(const struct rc_graph *g, struct rc_w_sample *out)
{
  struct { uint64_t gain; uint32_t slot; } best[RC_W_PATHS];
  uint32_t n = 0;
  for (uint32_t k = 0; k < out->nroots + out->nblocks; k++) {
    const struct rc_w_owner *o = k < out->nroots ? &out->roots[k].o : &out->blocks[k - out->nroots].o;
    if (!o->newest) continue;
    uint32_t i = n < RC_W_PATHS ? n++ : RC_W_PATHS;
    if (i == RC_W_PATHS) {
      if (o->new_bytes <= best[RC_W_PATHS - 1].gain) continue;
      i = RC_W_PATHS - 1;
    }
    while (i > 0 && best[i - 1].gain < o->new_bytes) {
      best[i] = best[i - 1];
      i--;
    }
    best[i].gain = o->new_bytes;
    best[i].slot = o->newest_slot;
  }
  if (!n) return;
  uint8_t *want = rc_map_array(g->nslots / 8 + 1, 1);
  struct rc_vec paths;
  rc_vec_init(&paths, sizeof(struct rc_why));
  if (want) {
    for (uint32_t i = 0; i < n; i++) want[best[i].slot >> 3] |= (uint8_t)(1u << (best[i].slot & 7));
    if (!rc_why_paths(g, want, RC_W_PATHS, &paths, NULL)) {
      const struct rc_why *w = (const struct rc_why *)paths.data;
      for (size_t i = 0; i < paths.len && out->npaths < RC_W_PATHS; i++)
        if (w[i].reachable) copy_path(&w[i], &out->paths[out->npaths++]);
    }
  }
  rc_unmap_array(want, g->nslots / 8 + 1, 1);
}

static void w_after_mark(void *ctx, struct rc_mark *m)
{
  struct wctx *c = ctx;
  struct rc_w_sample *out = c->out;
  struct rc_graph g;
  struct rc_dom d;
  struct gains gn;
  memset(&g, 0, sizeof g);
  memset(&d, 0, sizeof d);
  memset(&gn, 0, sizeof gn);
  uint32_t *sel = NULL;
  double t0 = rc_now_ms();
  if (rc_graph_build(&g, m, &c->rs) || rc_dom_compute(&g, &d)) goto out;
  out->ms_graph = rc_now_ms() - t0;
  sel = rc_map_array(g.n, 4);
  if (!sel || !gains_collect(&g, &d, c->since, &gn)) goto out;
  out->reach_bytes = d.rbytes[0];
  out->reach_blocks = d.rblocks[0];
  out->shared_bytes = d.rbytes[0];
  out->shared_blocks = d.rblocks[0];
  for (uint32_t r = 0; r < g.nroots; r++) {
    out->shared_bytes -= d.rbytes[r + 1];
    out->shared_blocks -= d.rblocks[r + 1];
  }
  pick_roots(&g, &d, &gn, out, sel);
  double t1 = rc_now_ms();
  pick_blocks(&g, &d, &gn, out, sel, &c->budget);
  out->ms_blocks = rc_now_ms() - t1;
  pick_new_sites(&gn, sel, out);
  pick_sites(m, out);
  t1 = rc_now_ms();
  pick_paths(&g, out);
  out->ms_paths = rc_now_ms() - t1;
  out->status = c->rs.failed ? 2 : 1;
out:
  gains_free(&g, &gn);
  rc_unmap_array(sel, g.n, 4);
  rc_dom_free(&d);
  rc_graph_free(&g);
}

static void w_in_child(void *ctx, struct rc_result *res)
{
  (void)res;
  struct wctx *c = ctx;
  _exit(c->out->status ? 0 : 3);
}

/* ---- in the program ---- */
int rc_w_sample_take(struct rc_w_sample *out, uint32_t since_epoch)
{
  struct wctx *c = rc_rootset_forked_ctx(sizeof *c);
  if (!c) return -1;
  memset(out, 0, sizeof *out);
  c->out = out;
  c->since = since_epoch;
  c->budget = REACH_BUDGET;
  struct rc_result res;
  double t0 = rc_now_ms();
  int err = rc_rootset_check_forked(&c->rs, c, w_after_mark, w_in_child, &res);
  int ret = 0;
  if (err || res.child <= 0) {
    ret = -1;
    errno = EAGAIN;
  } else {
    int st = 0;
    pid_t w;
    while ((w = waitpid(res.child, &st, 0)) < 0 && errno == EINTR) {}
    /* w < 0: the program's SIGCHLD handler reaped it; the mapping says */
    if (!__atomic_load_n(&out->status, __ATOMIC_ACQUIRE)) {
      ret = -1;
      errno = w >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 3 ? ENOMEM : EIO;
    }
  }
  out->ms_pause = res.ms_stop + res.ms_mark;   /* as snapshot.c: stop + fork */
  out->ms_total = rc_now_ms() - t0;
  rc_rootset_free(&c->rs);
  rc_munmap(c, sizeof *c);
  return ret;
}

void rc_w_root_fix(struct rc_root *r)
{
  if (!r->sym || !r->module) return;
  const char *sym = NULL;
  int cls = r->sub == RC_RS_TLS ? RC_SYM_TLS : RC_SYM_DATA;
  if ((r->sub == RC_RS_GLOBAL || r->sub == RC_RS_TLS) && rc_elf_sym(r->module, cls, r->vaddr, &sym, NULL)) r->sym = sym;
  else r->sym = NULL;
}
