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

int rc_site_tab_init(struct rc_site_tab *t, size_t max_entries)
{
  size_t cap = 64;
  while (cap < max_entries * 2 + 16) cap *= 2;
  t->e = rc_map_array(cap, sizeof *t->e);
  t->cap = t->e ? cap : 0;
  return t->e ? 0 : -1;
}

void rc_site_tab_free(struct rc_site_tab *t)
{
  rc_unmap_array(t->e, t->cap, sizeof *t->e);
  t->e = NULL;
  t->cap = 0;
}

/* Entries with blocks == 0 are free: callers add at least one block. */
struct rc_site_sum *rc_site_add(struct rc_site_tab *t, uint32_t owner, uint32_t stack)
{
  if (!t->cap) return NULL;
  uint64_t key = ((uint64_t)owner << 32) | stack;
  size_t i = (size_t)((key * 0x9e3779b97f4a7c15ull) >> 20) & (t->cap - 1);
  for (;; i = (i + 1) & (t->cap - 1)) {
    struct rc_site_sum *e = &t->e[i];
    if (!e->blocks) {
      e->owner = owner;
      e->stack = stack;
      return e;
    }
    if (e->owner == owner && e->stack == stack) return e;
  }
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

int rc_dom_compute(const struct rc_graph *g, struct rc_dom *d)
{
  memset(d, 0, sizeof *d);
  uint32_t n = g->n, nb = g->nblocks;
  size_t n1 = (size_t)n + 1;
  int rc = -1;
  bool tty = g->tty;
  /* dfn-indexed arrays (1..n; dfn 1 is the super-root), node-indexed dfn */
  uint32_t *dfn = rc_map_array(n, 4), *vertex = rc_map_array(n1, 4), *parent = rc_map_array(n1, 4);
  uint32_t *semi = rc_map_array(n1, 4), *label = rc_map_array(n1, 4), *anc = rc_map_array(n1, 4);
  uint32_t *idom = rc_map_array(n1, 4);
  uint32_t *snode = rc_map_array(n1, 4);
  uint32_t *spos = rc_map_array(n1, 4);
  uint64_t *acc_bytes = NULL;
  uint8_t *extra = rc_map_array(nb + 1, 1);
  uint32_t *poff = rc_map_array(n1 + 1, 4);   /* edges < 2^32: see rc_graph_build */
  uint32_t *pred = rc_map_array(g->nedges, 4);
  if (!dfn || !vertex || !parent || !semi || !label || !anc || !idom || !snode || !spos ||
      !extra || !poff || !pred)
    goto out;

  /* Depth-first preorder from the super-root: roots first, then blocks no
   * root reaches (each becomes a child of the super-root). */
  uint32_t cnt = 1;
  dfn[0] = 1;
  vertex[1] = 0;
  for (uint32_t k = 0; k < g->nroots + nb; k++) {
    uint32_t start = k < g->nroots ? rc_graph_root_node(g, k) : k - g->nroots + 1;
    if (dfn[start]) continue;
    if (start <= nb) extra[start] = 1;
    dfn[start] = ++cnt;
    vertex[cnt] = start;
    parent[cnt] = 1;
    long sp = 0;
    snode[0] = start;
    spos[0] = g->off[start];
    while (sp >= 0) {
      uint32_t u = snode[sp];
      if (spos[sp] < g->off[u + 1]) {
        uint32_t x = g->succ[spos[sp]++];
        if (dfn[x]) continue;
        dfn[x] = ++cnt;
        vertex[cnt] = x;
        parent[cnt] = dfn[u];
        snode[++sp] = x;
        spos[sp] = g->off[x];
        if (!(cnt & 0xffff)) rc_progress(tty, "dominators: visited", cnt, n);
      } else {
        sp--;
      }
    }
  }

  /* Predecessors in preorder numbers, indexed by preorder number, so the
   * main loop below walks them sequentially (a root's only predecessor is
   * the super-root: no list). */
  for (uint32_t u = 1; u < n; u++)
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) poff[dfn[g->succ[e]] + 1]++;
  for (uint32_t w = 1; w <= n + 1; w++) poff[w] += poff[w - 1];
  for (uint32_t w = 2; w <= n; w++) {
    uint32_t u = vertex[w];
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) pred[poff[dfn[g->succ[e]]]++] = w;
  }
  for (uint32_t w = n + 1; w > 0; w--) poff[w] = poff[w - 1];
  poff[0] = 0;

  for (uint32_t i = 1; i <= n; i++) semi[i] = label[i] = i;
  struct lt t = {semi, label, anc, snode};
  for (uint32_t w = n; w >= 2; w--) {
    uint32_t x = vertex[w];
    if (x > nb || extra[x]) semi[w] = 1;   /* the super-root is a predecessor */
    for (uint64_t e = poff[w]; e < poff[w + 1]; e++) {
      uint32_t u = lt_eval(&t, pred[e]);
      if (semi[u] < semi[w]) semi[w] = semi[u];
    }
    anc[w] = parent[w];   /* link */
    if (!(w & 0xffff)) rc_progress(tty, "dominators: remaining", w, n);
  }
  /* Semi-NCA (Georgiadis, Tarjan): idom(w) is the nearest common ancestor
   * of parent(w) and semi(w) in the dominator tree, found by climbing from
   * parent(w); in preorder every ancestor's idom is known. Needs no
   * buckets: 8 bytes per node less than Lengauer-Tarjan's second phase. */
  idom[1] = 0;
  for (uint32_t w = 2; w <= n; w++) {
    uint32_t x = parent[w];
    while (x > semi[w]) x = idom[x];
    idom[w] = x;
  }

  /* Retained sizes: each node's subtree, children before parents. The
   * predecessor lists are done with: their pages go first. */
  rc_unmap_array(pred, g->nedges, 4);
  rc_unmap_array(poff, n1 + 1, 4);
  pred = NULL;
  poff = NULL;
  acc_bytes = rc_map_array(n1, 8);
  if (!acc_bytes) goto out;
  uint32_t *acc_blocks = label;   /* reused: fresh pages cost a fault each */
  memset(label, 0, n1 * 4);
  for (uint32_t w = 2; w <= n; w++) {
    uint32_t x = vertex[w];
    if (x <= nb) {
      acc_bytes[w] = rc_graph_size(g, x);
      acc_blocks[w] = 1;
    }
  }
  for (uint32_t w = n; w >= 2; w--) {
    acc_bytes[idom[w]] += acc_bytes[w];
    acc_blocks[idom[w]] += acc_blocks[w];
  }
  /* The super-root's child above each node, in preorder (idom precedes). */
  uint32_t *top = parent;   /* done with */
  for (uint32_t w = 2; w <= n; w++) top[w] = idom[w] == 1 ? w : top[idom[w]];
  d->nroots = g->nroots;
  d->rbytes = rc_map_array((size_t)g->nroots + 1, 8);
  d->rblocks = rc_map_array((size_t)g->nroots + 1, 8);
  if (!d->rbytes || !d->rblocks) goto out;
  d->rbytes[0] = acc_bytes[1];
  d->rblocks[0] = acc_blocks[1];
  for (uint32_t r = 0; r < g->nroots; r++) {
    uint32_t w = dfn[rc_graph_root_node(g, r)];
    d->rbytes[r + 1] = acc_bytes[w];
    d->rblocks[r + 1] = acc_blocks[w];
  }
  d->top = anc;   /* block node -> node; handed over */
  d->ntop = n1;
  for (uint32_t x = 1; x <= nb; x++) anc[x] = vertex[top[dfn[x]]];
  anc = NULL;
  rc = 0;
out:
  rc_progress(tty, "", 1, 1);
  rc_unmap_array(dfn, n, 4);
  rc_unmap_array(vertex, n1, 4);
  rc_unmap_array(parent, n1, 4);
  rc_unmap_array(semi, n1, 4);
  rc_unmap_array(label, n1, 4);
  rc_unmap_array(anc, n1, 4);
  rc_unmap_array(idom, n1, 4);
  rc_unmap_array(snode, n1, 4);
  rc_unmap_array(spos, n1, 4);
  rc_unmap_array(acc_bytes, n1, 8);
  rc_unmap_array(extra, nb + 1, 1);
  rc_unmap_array(poff, n1 + 1, 4);
  rc_unmap_array(pred, g->nedges, 4);
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

