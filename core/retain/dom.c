/* Retained size by dominators: the dominator tree of the heap graph
 * (semidominators as in Lengauer-Tarjan, iterative, with path compression;
 * immediate dominators by Semi-NCA). A root's retained size is the bytes of
 * its dominator subtree: what freeing the root would free. A block reachable
 * from two roots is dominated by the super-root and retained by neither.
 * Also the per (owner, allocation site) totals the reports are made of.
 * Runs with the world stopped or in a forked copy: memory from rc_mmap. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "retain/retain.h"

int rc_site_tab_init(struct rc_site_tab *t, size_t expect)
{
  size_t cap = 64;
  while (cap < expect * 2 + 16 && cap < ((size_t)1 << 40)) cap *= 2;
  t->e = rc_map_array(cap, sizeof *t->e);
  t->cap = t->e ? cap : 0;
  t->used = 0;
  return t->e ? 0 : -1;
}

void rc_site_tab_free(struct rc_site_tab *t)
{
  rc_unmap_array(t->e, t->cap, sizeof *t->e);
  t->e = NULL;
  t->cap = t->used = 0;
}

/* An entry is free while it is all zero: an entry whose blocks drop back
 * to 0 (owner.c takes blocks off) keeps its key and stays taken. */
static inline bool site_free(const struct rc_site_sum *e) { return !e->blocks && !e->bytes && !e->owner && !e->stack; }

static struct rc_site_sum *site_probe(const struct rc_site_tab *t, uint32_t owner, uint32_t stack)
{
  uint64_t key = ((uint64_t)owner << 32) | stack;
  size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (t->cap - 1);
  for (;; i = (i + 1) & (t->cap - 1)) {
    struct rc_site_sum *e = &t->e[i];
    if (site_free(e) || (e->owner == owner && e->stack == stack)) return e;
  }
}

struct rc_site_sum *rc_site_add(struct rc_site_tab *t, uint32_t owner, uint32_t stack)
{
  if (!t->cap) return NULL;
  struct rc_site_sum *e = site_probe(t, owner, stack);
  if (!site_free(e)) return e;
  if ((t->used + 1) * 2 > t->cap) {   /* grow fourfold, then insert */
    struct rc_site_tab n = {rc_map_array(t->cap * 4, sizeof *t->e), t->cap * 4, t->used};
    if (!n.e) return NULL;
    for (size_t i = 0; i < t->cap; i++)
      if (!site_free(&t->e[i])) *site_probe(&n, t->e[i].owner, t->e[i].stack) = t->e[i];
    rc_unmap_array(t->e, t->cap, sizeof *t->e);
    *t = n;
    e = site_probe(t, owner, stack);
  }
  t->used++;
  e->owner = owner;
  e->stack = stack;   /* the key 0:0 stays free until the caller adds a block to it, as every caller does */
  return e;
}

/* ---- dominators ---- */
struct lt {
  uint32_t *semi, *label, *anc, *stk;
};

/* Path compression without recursion (a 1M-node list is a 1M-deep path). */
static uint32_t lt_eval(struct lt *t, uint32_t v)
{
  if (!t->anc[v]) return v;
  uint32_t top = 0, x = v;
  while (t->anc[t->anc[x]]) {
    t->stk[top++] = x;
    x = t->anc[x];
  }
  while (top) {
    x = t->stk[--top];
    uint32_t a = t->anc[x];
    if (t->semi[t->label[a]] < t->semi[t->label[x]]) t->label[x] = t->label[a];
    t->anc[x] = t->anc[a];
  }
  return t->label[v];
}

/* The work arrays of one computation: dfn-indexed (1..n; dfn 1 is the
 * super-root) unless said otherwise; each rc_mmap'd and released as soon as
 * its phase is done (they dominate the peak memory of an exit report). */
struct dom_work {
  const struct rc_graph *g;
  uint32_t n, nb;
  size_t n1;
  bool tty;
  uint32_t *dfn;        /* node -> preorder number */
  uint32_t *vertex, *parent, *semi, *label, *anc, *idom;
  uint32_t *snode, *spos;   /* the explicit DFS stack (also lt_eval's) */
  uint8_t *extra;       /* block node -> no root reaches it */
  uint32_t *poff, *pred;    /* predecessors by preorder number (CSR) */
  uint64_t *acc_bytes;
};

static void dom_work_free(struct dom_work *w)
{
  size_t n1 = w->n1;
  rc_unmap_array(w->dfn, w->n, 4);
  rc_unmap_array(w->vertex, n1, 4);
  rc_unmap_array(w->parent, n1, 4);
  rc_unmap_array(w->semi, n1, 4);
  rc_unmap_array(w->label, n1, 4);
  rc_unmap_array(w->anc, n1, 4);
  rc_unmap_array(w->idom, n1, 4);
  rc_unmap_array(w->snode, n1, 4);
  rc_unmap_array(w->spos, n1, 4);
  rc_unmap_array(w->acc_bytes, n1, 8);
  rc_unmap_array(w->extra, w->nb + 1, 1);
  rc_unmap_array(w->poff, n1 + 1, 4);
  rc_unmap_array(w->pred, w->g->nedges, 4);
}

static bool dom_work_init(struct dom_work *w, const struct rc_graph *g)
{
  memset(w, 0, sizeof *w);
  w->g = g;
  w->n = g->n;
  w->nb = g->nblocks;
  w->n1 = (size_t)g->n + 1;
  w->tty = g->tty;
  size_t n1 = w->n1;
  w->dfn = rc_map_array(w->n, 4);
  w->vertex = rc_map_array(n1, 4);
  w->parent = rc_map_array(n1, 4);
  w->semi = rc_map_array(n1, 4);
  w->label = rc_map_array(n1, 4);
  w->anc = rc_map_array(n1, 4);
  w->idom = rc_map_array(n1, 4);
  w->snode = rc_map_array(n1, 4);
  w->spos = rc_map_array(n1, 4);
  w->extra = rc_map_array(w->nb + 1, 1);
  w->poff = rc_map_array(n1 + 1, 4);   /* edges < 2^32: see rc_graph_build */
  w->pred = rc_map_array(g->nedges, 4);
  return w->dfn && w->vertex && w->parent && w->semi && w->label && w->anc && w->idom && w->snode && w->spos &&
         w->extra && w->poff && w->pred;
}

/* Depth-first preorder from the super-root: roots first, then blocks no
 * root reaches (each becomes a child of the super-root). */
static void dom_preorder(struct dom_work *w)
{
  const struct rc_graph *g = w->g;
  uint32_t cnt = 1;
  w->dfn[0] = 1;
  w->vertex[1] = 0;
  for (uint32_t k = 0; k < g->nroots + w->nb; k++) {
    uint32_t start = k < g->nroots ? rc_graph_root_node(g, k) : k - g->nroots + 1;
    if (w->dfn[start]) continue;
    if (start <= w->nb) w->extra[start] = 1;
    w->dfn[start] = ++cnt;
    w->vertex[cnt] = start;
    w->parent[cnt] = 1;
    long sp = 0;
    w->snode[0] = start;
    w->spos[0] = g->off[start];
    while (sp >= 0) {
      uint32_t u = w->snode[sp];
      if (w->spos[sp] < g->off[u + 1]) {
        uint32_t x = g->succ[w->spos[sp]++];
        if (w->dfn[x]) continue;
        w->dfn[x] = ++cnt;
        w->vertex[cnt] = x;
        w->parent[cnt] = w->dfn[u];
        w->snode[++sp] = x;
        w->spos[sp] = g->off[x];
        if (!(cnt & 0xffff)) rc_progress(w->tty, "dominators: visited", cnt, w->n);
      } else {
        sp--;
      }
    }
  }
  RC_DCHECK(cnt == w->n);   /* every node is reached from the super-root */
}

/* Predecessors in preorder numbers, indexed by preorder number, so the
 * semidominator loop walks them sequentially (a root's only predecessor is
 * the super-root: no list). */
static void dom_predecessors(struct dom_work *w)
{
  const struct rc_graph *g = w->g;
  uint32_t n = w->n, *poff = w->poff;
  for (uint32_t u = 1; u < n; u++)
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) poff[w->dfn[g->succ[e]] + 1]++;
  for (uint32_t v = 1; v <= n + 1; v++) poff[v] += poff[v - 1];
  for (uint32_t v = 2; v <= n; v++) {
    uint32_t u = w->vertex[v];
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) w->pred[poff[w->dfn[g->succ[e]]]++] = v;
  }
  for (uint32_t v = n + 1; v > 0; v--) poff[v] = poff[v - 1];
  poff[0] = 0;
}

/* Semidominators (Lengauer-Tarjan's first phase, with path compression),
 * then immediate dominators by Semi-NCA (Georgiadis, Tarjan): idom(w) is
 * the nearest common ancestor of parent(w) and semi(w) in the dominator
 * tree, found by climbing from parent(w); in preorder every ancestor's idom
 * is known. Needs no buckets: 8 bytes per node less than Lengauer-Tarjan's
 * second phase. */
static void dom_idoms(struct dom_work *w)
{
  uint32_t n = w->n, *semi = w->semi, *idom = w->idom;
  for (uint32_t i = 1; i <= n; i++) semi[i] = w->label[i] = i;
  struct lt t = {semi, w->label, w->anc, w->snode};
  for (uint32_t v = n; v >= 2; v--) {
    uint32_t x = w->vertex[v];
    if (x > w->nb || w->extra[x]) semi[v] = 1;   /* the super-root is a predecessor */
    for (uint64_t e = w->poff[v]; e < w->poff[v + 1]; e++) {
      uint32_t u = lt_eval(&t, w->pred[e]);
      if (semi[u] < semi[v]) semi[v] = semi[u];
    }
    w->anc[v] = w->parent[v];   /* link */
    if (!(v & 0xffff)) rc_progress(w->tty, "dominators: remaining", v, n);
  }
  idom[1] = 0;
  for (uint32_t v = 2; v <= n; v++) {
    uint32_t x = w->parent[v];
    while (x > semi[v]) x = idom[x];
    idom[v] = x;
    RC_DCHECK(x >= 1 && x < v);   /* a dominator precedes in preorder */
  }
}

/* Retained sizes: each node's dominator subtree, children before parents;
 * then each root's totals and, per block, the child of the super-root above
 * it (its retaining root, or itself). */
static int dom_sizes(struct dom_work *w, struct rc_dom *d)
{
  const struct rc_graph *g = w->g;
  uint32_t n = w->n, nb = w->nb, *idom = w->idom;
  size_t n1 = w->n1;
  /* The predecessor lists are done with: their pages go first. */
  rc_unmap_array(w->pred, g->nedges, 4);
  rc_unmap_array(w->poff, n1 + 1, 4);
  w->pred = w->poff = NULL;
  uint64_t *acc_bytes = w->acc_bytes = rc_map_array(n1, 8);
  if (!acc_bytes) return -1;
  uint32_t *acc_blocks = w->label;   /* reused: fresh pages cost a fault each */
  memset(acc_blocks, 0, n1 * 4);
  for (uint32_t v = 2; v <= n; v++) {
    uint32_t x = w->vertex[v];
    if (x <= nb) {
      acc_bytes[v] = rc_graph_size(g, x);
      acc_blocks[v] = 1;
    }
  }
  for (uint32_t v = n; v >= 2; v--) {
    acc_bytes[idom[v]] += acc_bytes[v];
    acc_blocks[idom[v]] += acc_blocks[v];
  }
  /* The super-root's child above each node, in preorder (idom precedes). */
  uint32_t *top = w->parent;   /* done with */
  for (uint32_t v = 2; v <= n; v++) top[v] = idom[v] == 1 ? v : top[idom[v]];
  d->nroots = g->nroots;
  d->rbytes = rc_map_array((size_t)g->nroots + 1, 8);
  d->rblocks = rc_map_array((size_t)g->nroots + 1, 8);
  if (!d->rbytes || !d->rblocks) return -1;
  d->rbytes[0] = acc_bytes[1];
  d->rblocks[0] = acc_blocks[1];
  for (uint32_t r = 0; r < g->nroots; r++) {
    uint32_t v = w->dfn[rc_graph_root_node(g, r)];
    d->rbytes[r + 1] = acc_bytes[v];
    d->rblocks[r + 1] = acc_blocks[v];
  }
  d->top = w->anc;   /* block node -> node; handed over */
  d->ntop = n1;
  for (uint32_t x = 1; x <= nb; x++) w->anc[x] = w->vertex[top[w->dfn[x]]];
  w->anc = NULL;
  return 0;
}

int rc_dom_compute(const struct rc_graph *g, struct rc_dom *d)
{
  memset(d, 0, sizeof *d);
  struct dom_work w;
  int rc = -1;
  if (dom_work_init(&w, g)) {
    dom_preorder(&w);
    dom_predecessors(&w);
    dom_idoms(&w);
    rc = dom_sizes(&w, d);
  }
  rc_progress(w.tty, "", 1, 1);
  dom_work_free(&w);
  if (rc) rc_dom_free(d);
  return rc;
}

void rc_dom_free(struct rc_dom *d)
{
  rc_unmap_array(d->top, d->ntop, 4);
  rc_unmap_array(d->rbytes, (size_t)d->nroots + 1, 8);
  rc_unmap_array(d->rblocks, (size_t)d->nroots + 1, 8);
  memset(d, 0, sizeof *d);
}

