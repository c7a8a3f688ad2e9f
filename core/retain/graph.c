/* The heap graph of one check: reachable blocks and named roots as nodes,
 * the pointers between them as edges (CSR), built from the marks of a
 * finished mark phase. Runs with the world stopped or in a forked copy. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "retain/retain.h"

/* ---- the graph ---- */
struct edges { const struct rc_graph *g; struct rc_vec *ev; uint32_t v, last; };

static bool add_edge(void *ctx, uintptr_t at, struct rc_hdr *t)
{
  (void)at;
  struct edges *e = ctx;
  if (t->slot >= e->g->nslots) return true;
  uint32_t x = e->g->node_of[t->slot];
  if (!x || x == e->v || x == e->last) return true;   /* root blocks, self, repeats */
  uint32_t *s = rc_vec_push(e->ev);
  if (!s) return false;
  *s = e->last = x;
  return true;
}

/* A big block is read by its runs of pages ever populated (mark.h,
 * rc_block_runs). */
struct edge_runs { struct edges *e; bool ok; };
static void scan_run(void *ctx, uintptr_t lo, uintptr_t hi)
{
  struct edge_runs *r = ctx;
  if (r->ok) r->ok = rc_scan_pointers(lo, hi, add_edge, r->e);
}

static bool scan_block(struct rc_graph *g, struct rc_vec *ev, uint32_t v)
{
  struct rc_hdr *h = rc_graph_hdr(g, v);
  uintptr_t u = (uintptr_t)rc_hdr_user(h), e = u + rc_hdr_size(h);
  struct edges ed = {g, ev, v, 0};
  struct edge_runs r = {&ed, true};
  if (rc_block_runs(u, e, scan_run, &r)) return r.ok;
  return rc_scan_pointers(u, e, add_edge, &ed);
}

int rc_graph_build(struct rc_graph *g, struct rc_mark *m, struct rc_rootset *rs)
{
  memset(g, 0, sizeof *g);
  g->rs = rs;
  g->nslots = m->nslots;
  g->node_of = rc_map_array(g->nslots, sizeof *g->node_of);
  if (!g->node_of) return -1;
  rc_rootset_blocks(rs, m);   /* roots themselves: not nodes */
  uint32_t nb = 0;
  for (uint32_t i = 1; i < g->nslots; i++) {
    if (!rc_mark_is_marked(m, i)) continue;
    struct rc_hdr *h = rc_mark_live(i);
    if (!h) continue;
    if (!(rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED))) g->node_of[i] = ++nb;
  }
  g->nblocks = nb;
  g->nroots = (uint32_t)rs->roots.len;
  g->n = 1 + nb + g->nroots;
  g->tty = rc_progress_tty(nb);
  g->slot_of = rc_map_array(nb + 1, sizeof *g->slot_of);
  g->off = rc_map_array((size_t)g->n + 1, sizeof *g->off);
  if (!g->slot_of || !g->off) return -1;
  for (uint32_t i = 1; i < g->nslots; i++) {
    uint32_t v = g->node_of[i];
    if (!v) continue;
    g->slot_of[v] = i;
  }
  struct rc_vec ev;
  rc_vec_init(&ev, sizeof(uint32_t));
  for (uint32_t v = 1; v <= nb; v++) {
    if (!(v & 0xffff)) rc_progress(g->tty, "retention graph: scanned", v, nb);
    if (ev.len >= UINT32_MAX / 2) {   /* 32-bit edge offsets: give up on graphs of 2G edges */
      rc_vec_free(&ev);
      return -1;
    }
    g->off[v] = (uint32_t)ev.len;
    if (!scan_block(g, &ev, v)) {
      rc_vec_free(&ev);
      return -1;
    }
  }
  rc_progress(g->tty, "", 1, 1);
  /* Root edges, bucketed by root (counting sort), to blocks only. */
  uint64_t base = ev.len;
  const struct rc_root_edge *re = (const struct rc_root_edge *)rs->edges.data;
  uint32_t *roff = g->off + nb + 1;   /* roff[r] for r in [0, nroots] */
  for (size_t i = 0; i < rs->edges.len; i++)
    if (re[i].slot < g->nslots && g->node_of[re[i].slot]) roff[re[i].root + 1]++;
  uint64_t acc = base;
  for (uint32_t r = 0; r < g->nroots; r++) {
    uint64_t c = roff[r + 1];   /* read before the next round overwrites it */
    roff[r] = (uint32_t)acc;
    acc += c;
  }
  if (acc >= UINT32_MAX) {
    rc_vec_free(&ev);
    return -1;
  }
  roff[g->nroots] = (uint32_t)acc;
  uint64_t nre = acc - base;
  /* roff[r] is now the start of root r; fill with a cursor per root. */
  uint64_t *cur = rc_map_array(g->nroots, sizeof *cur);
  g->rword = rc_map_array(nre, sizeof *g->rword);
  g->nrword = nre;
  for (uint64_t i = 0; cur && g->rword && i < nre; i++)
    if (!rc_vec_push(&ev)) {
      rc_vec_free(&ev);
      rc_vec_init(&ev, sizeof(uint32_t));
      break;
    }
  if (!cur || !g->rword || ev.len != base + nre) {
    rc_unmap_array(cur, g->nroots, sizeof *cur);
    rc_vec_free(&ev);
    return -1;
  }
  uint32_t *succ = (uint32_t *)ev.data;
  for (size_t i = 0; i < rs->edges.len; i++) {
    if (re[i].slot >= g->nslots || !g->node_of[re[i].slot]) continue;
    uint64_t at = roff[re[i].root] + cur[re[i].root]++;
    succ[at] = g->node_of[re[i].slot];
    g->rword[at - base] = re[i].word;
  }
  rc_unmap_array(cur, g->nroots, sizeof *cur);
  g->nedges = ev.len;
  g->succ = succ;
  g->succ_store = ev;   /* the graph owns the vector's mapping now */
  return 0;
}

void rc_graph_free(struct rc_graph *g)
{
  rc_unmap_array(g->node_of, g->nslots, sizeof *g->node_of);
  rc_unmap_array(g->slot_of, g->nblocks + 1, sizeof *g->slot_of);
  rc_unmap_array(g->off, (size_t)g->n + 1, sizeof *g->off);
  rc_unmap_array(g->rword, g->nrword, sizeof *g->rword);
  rc_vec_free(&g->succ_store);
  memset(g, 0, sizeof *g);
}

