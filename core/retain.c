/* Retained size by dominators. The heap graph of one check: a virtual
 * super-root, one node per named root and one per reachable block, edges
 * from rescanning root words and block contents; then the dominator tree
 * (semidominators as in Lengauer-Tarjan, iterative, with path compression;
 * immediate dominators by Semi-NCA). A root's
 * retained size is the bytes of its dominator subtree: what freeing the root
 * would free. A block reachable from two roots is dominated by the
 * super-root and retained by neither. At exit (retainers=N) the top N roots
 * are reported with their dominant allocation sites. Runs with the world
 * stopped: memory from rc_mmap/rc_vec only. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "retain.h"

#define TOP_SITES 5

/* ---- small helpers ---- */
bool rc_retain_tty(uint64_t work)
{
  return rc_opt.progress && work > (1u << 20) && isatty(rc_err_fd);
}

void rc_retain_progress(bool tty, const char *what, uint64_t i, uint64_t n)
{
  if (!tty) return;
  char buf[128];
  int k = i >= n ? snprintf(buf, sizeof buf, "\r\033[K")
                 : snprintf(buf, sizeof buf, "\rreachcheck: %s %llu of %llu", what, (unsigned long long)i,
                            (unsigned long long)n);
  if (k > 0) (void)!write(rc_err_fd, buf, (size_t)k);
}

static void *map_array(size_t n, size_t elem) { return rc_mmap((n ? n : 1) * elem); }
static void unmap_array(void *p, size_t n, size_t elem) { rc_munmap(p, (n ? n : 1) * elem); }

int rc_site_tab_init(struct rc_site_tab *t, size_t max_entries)
{
  size_t cap = 64;
  while (cap < max_entries * 2 + 16) cap *= 2;
  t->e = map_array(cap, sizeof *t->e);
  t->cap = t->e ? cap : 0;
  return t->e ? 0 : -1;
}

void rc_site_tab_free(struct rc_site_tab *t)
{
  unmap_array(t->e, t->cap, sizeof *t->e);
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

/* Heapsort: qsort may malloc (glibc's msort), which the world stopped or a
 * forked copy must not. */
static void swap_bytes(char *a, char *b, size_t size)
{
  while (size--) {
    char t = *a;
    *a++ = *b;
    *b++ = t;
  }
}

static void sift(char *base, size_t i, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && cmp(base + (c + 1) * size, base + c * size) > 0) c++;
    if (cmp(base + i * size, base + c * size) >= 0) return;
    swap_bytes(base + i * size, base + c * size, size);
    i = c;
  }
}

void rc_heapsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  char *b = base;
  for (size_t i = n / 2; i-- > 0;) sift(b, i, n, size, cmp);
  for (size_t e = n; e-- > 1;) {
    swap_bytes(b, b + e * size, size);
    sift(b, 0, e, size, cmp);
  }
}

/* ---- the graph ---- */
static bool scan_block(struct rc_graph *g, struct rc_vec *ev, uint32_t v)
{
  struct rc_hdr *h = rc_graph_hdr(g, v);
  uintptr_t u = (uintptr_t)rc_hdr_user(h), e = u + rc_hdr_size(h);
  uintptr_t step = rc_opt.unaligned ? 1 : 8;
  uintptr_t p = rc_opt.unaligned ? u : (u + 7) & ~(uintptr_t)7;
  uint32_t last = 0;
  for (; p + 8 <= e; p += step) {
    uintptr_t w;
    memcpy(&w, (const void *)p, sizeof w);
    if (w < rc_heap_lo || w >= rc_heap_hi) continue;
    struct rc_hdr *t = rc_block_of(w);
    if (!t || t->slot >= g->nslots) continue;
    uint32_t x = g->node_of[t->slot];
    if (!x || x == v || x == last) continue;   /* root blocks, self, repeats */
    uint32_t *s = rc_vec_push(ev);
    if (!s) return false;
    *s = last = x;
  }
  return true;
}

int rc_graph_build(struct rc_graph *g, struct rc_mark *m, struct rc_rootset *rs)
{
  memset(g, 0, sizeof *g);
  g->rs = rs;
  g->nslots = m->nslots;
  g->node_of = map_array(g->nslots, sizeof *g->node_of);
  if (!g->node_of) return -1;
  uint32_t nb = 0;
  for (uint32_t i = 1; i < g->nslots; i++) {
    if (!rc_mark_is_marked(m, i)) continue;
    struct rc_hdr *h = rc_mark_live(i);
    if (!h) continue;
    if (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED)) rc_rootset_block(rs, h);   /* roots themselves */
    else g->node_of[i] = ++nb;
  }
  g->nblocks = nb;
  g->nroots = (uint32_t)rs->roots.len;
  g->n = 1 + nb + g->nroots;
  g->tty = rc_retain_tty(nb);
  g->slot_of = map_array(nb + 1, sizeof *g->slot_of);
  g->off = map_array((size_t)g->n + 1, sizeof *g->off);
  if (!g->slot_of || !g->off) return -1;
  for (uint32_t i = 1; i < g->nslots; i++) {
    uint32_t v = g->node_of[i];
    if (!v) continue;
    g->slot_of[v] = i;
  }
  struct rc_vec ev;
  rc_vec_init(&ev, sizeof(uint32_t));
  for (uint32_t v = 1; v <= nb; v++) {
    if (!(v & 0xffff)) rc_retain_progress(g->tty, "retention graph: scanned", v, nb);
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
  rc_retain_progress(g->tty, "", 1, 1);
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
  uint64_t *cur = map_array(g->nroots, sizeof *cur);
  g->rword = map_array(nre, sizeof *g->rword);
  g->nrword = nre;
  for (uint64_t i = 0; cur && g->rword && i < nre; i++)
    if (!rc_vec_push(&ev)) {
      rc_vec_free(&ev);
      rc_vec_init(&ev, sizeof(uint32_t));
      break;
    }
  if (!cur || !g->rword || ev.len != base + nre) {
    unmap_array(cur, g->nroots, sizeof *cur);
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
  unmap_array(cur, g->nroots, sizeof *cur);
  g->nedges = ev.len;
  g->succ = succ;
  g->succ_store = ev;   /* the graph owns the vector's mapping now */
  return 0;
}

void rc_graph_free(struct rc_graph *g)
{
  unmap_array(g->node_of, g->nslots, sizeof *g->node_of);
  unmap_array(g->slot_of, g->nblocks + 1, sizeof *g->slot_of);
  unmap_array(g->off, (size_t)g->n + 1, sizeof *g->off);
  unmap_array(g->rword, g->nrword, sizeof *g->rword);
  rc_vec_free(&g->succ_store);
  memset(g, 0, sizeof *g);
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
  uint32_t *dfn = map_array(n, 4), *vertex = map_array(n1, 4), *parent = map_array(n1, 4);
  uint32_t *semi = map_array(n1, 4), *label = map_array(n1, 4), *anc = map_array(n1, 4);
  uint32_t *idom = map_array(n1, 4);
  uint32_t *snode = map_array(n1, 4);
  uint32_t *spos = map_array(n1, 4);
  uint64_t *acc_bytes = NULL;
  uint8_t *extra = map_array(nb + 1, 1);
  uint32_t *poff = map_array(n1 + 1, 4);   /* edges < 2^32: see rc_graph_build */
  uint32_t *pred = map_array(g->nedges, 4);
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
        if (!(cnt & 0xffff)) rc_retain_progress(tty, "dominators: visited", cnt, n);
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
    if (!(w & 0xffff)) rc_retain_progress(tty, "dominators: remaining", w, n);
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
  unmap_array(pred, g->nedges, 4);
  unmap_array(poff, n1 + 1, 4);
  pred = NULL;
  poff = NULL;
  acc_bytes = map_array(n1, 8);
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
  d->rbytes = map_array((size_t)g->nroots + 1, 8);
  d->rblocks = map_array((size_t)g->nroots + 1, 8);
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
  rc_retain_progress(tty, "", 1, 1);
  unmap_array(dfn, n, 4);
  unmap_array(vertex, n1, 4);
  unmap_array(parent, n1, 4);
  unmap_array(semi, n1, 4);
  unmap_array(label, n1, 4);
  unmap_array(anc, n1, 4);
  unmap_array(idom, n1, 4);
  unmap_array(snode, n1, 4);
  unmap_array(spos, n1, 4);
  unmap_array(acc_bytes, n1, 8);
  unmap_array(extra, nb + 1, 1);
  unmap_array(poff, n1 + 1, 4);
  unmap_array(pred, g->nedges, 4);
  if (rc) rc_dom_free(d);
  return rc;
}

void rc_dom_free(struct rc_dom *d)
{
  unmap_array(d->top, d->ntop, 4);
  unmap_array(d->rbytes, (size_t)d->nroots + 1, 8);
  unmap_array(d->rblocks, (size_t)d->nroots + 1, 8);
  memset(d, 0, sizeof *d);
}

/* ---- allocation stacks in reports ---- */
void rc_stack_json(struct rc_buf *b, uint32_t stack, bool symbolize)
{
  rc_buf_put(b, "[", 1);
  const struct rc_stack *s = rc_depot_get(stack);
  for (uint32_t i = 0; s && i < s->depth; i++) {
    if (i) rc_buf_put(b, ",", 1);
    if (symbolize) {
      struct rc_frame_info fi;
      rc_symbolize(s->pc[i], s->gen, &fi);
      rc_json_frame(b, &fi);
      continue;
    }
    /* Forked copy: no libdw; the ELF symbol, and module+offset for later. */
    const char *path = "?", *sym = "";
    uintptr_t bias = 0, start;
    if (rc_module_lookup(s->pc[i], s->gen, &path, &bias))
      rc_elf_sym(path, RC_SYM_FUNC, s->pc[i] - bias - (i ? 1 : 0), &sym, &start);
    rc_buf_put(b, "{\"function\":", 12);
    rc_buf_json_str(b, sym);
    rc_buf_put(b, ",\"module\":", 10);
    rc_buf_json_str(b, path);
    rc_buf_printf(b, ",\"offset\":\"0x%lx\",\"pc\":\"0x%lx\"}", (unsigned long)(s->pc[i] - bias), (unsigned long)s->pc[i]);
  }
  rc_buf_put(b, "]", 1);
}

void rc_stack_text(struct rc_buf *b, uint32_t stack, const char *indent, int max_frames)
{
  const struct rc_stack *s = rc_depot_get(stack);
  if (!s) {
    rc_buf_printf(b, "%s<no stack>\n", indent);
    return;
  }
  for (uint32_t i = 0; i < s->depth; i++) {
    if (max_frames && i >= (uint32_t)max_frames) {
      rc_buf_printf(b, "%s... (%u more frames)\n", indent, s->depth - i);
      break;
    }
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    rc_buf_printf(b, "%s#%u 0x%lx in %s", indent, i, (unsigned long)fi.pc, fi.function[0] ? fi.function : "??");
    if (fi.file) rc_buf_printf(b, " %s:%d", fi.file, fi.line);
    rc_buf_printf(b, " (%s+0x%lx)\n", fi.module, (unsigned long)fi.offset);
  }
}

/* "f a.c:12 < g b.c:30 < main m.c:7": the innermost frames on one line. */
void rc_stack_line(struct rc_buf *b, uint32_t stack, int max_frames)
{
  const struct rc_stack *s = rc_depot_get(stack);
  if (!s || !s->depth) {
    rc_buf_printf(b, "<no stack>");
    return;
  }
  for (uint32_t i = 0; i < s->depth && i < (uint32_t)max_frames; i++) {
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    if (i) rc_buf_put(b, " < ", 3);
    if (fi.file) {
      const char *base = strrchr(fi.file, '/');
      rc_buf_printf(b, "%s %s:%d", fi.function[0] ? fi.function : "??", base ? base + 1 : fi.file, fi.line);
    } else {
      const char *base = strrchr(fi.module, '/');
      rc_buf_printf(b, "%s (%s+0x%lx)", fi.function[0] ? fi.function : "??", base ? base + 1 : fi.module,
                    (unsigned long)fi.offset);
    }
  }
  if (s->depth > (uint32_t)max_frames) rc_buf_put(b, " < ...", 6);
}

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
  uint8_t *why_stacks;
  uint32_t why_nstacks;
  struct rc_vec ret;   /* struct retainer, by bytes */
  struct rc_vec why;   /* struct rc_why */
  uint64_t graph_blocks, graph_bytes, shared_blocks, shared_bytes;
  uint32_t nretaining;
  double ms, ms_graph, ms_dom;
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

static void exit_retainers(const struct rc_graph *g, const struct rc_dom *d)
{
  uint32_t want = (uint32_t)(rc_opt.retainers > 100000 ? 100000 : rc_opt.retainers);
  uint32_t *rank = map_array(g->nroots, 4);   /* root -> rank + 1 */
  uint32_t *order = map_array(want, 4);
  uint32_t nsel = 0;
  if (!rank || !order) {
    X.failed = true;
    goto out;
  }
  for (uint32_t r = 0; r < g->nroots; r++) {
    if (!d->rblocks[r + 1]) continue;
    X.nretaining++;
    /* insertion into the top-`want` list, biggest first */
    uint32_t i = nsel < want ? nsel++ : want;
    if (i == want) {
      if (d->rbytes[r + 1] <= d->rbytes[order[want - 1] + 1]) continue;
      i = want - 1;
    }
    while (i > 0 && d->rbytes[order[i - 1] + 1] < d->rbytes[r + 1]) {
      order[i] = order[i - 1];
      i--;
    }
    order[i] = r;
  }
  for (uint32_t i = 0; i < nsel; i++) {
    rank[order[i]] = i + 1;
    struct retainer *rt = rc_vec_push(&X.ret);
    if (!rt) {
      X.failed = true;
      goto out;
    }
    rt->root = *rc_rootset_at(g->rs, order[i]);
    rt->bytes = d->rbytes[order[i] + 1];
    rt->blocks = d->rblocks[order[i] + 1];
  }
  /* Allocation sites under each selected root, and what no root owns. */
  struct rc_site_tab tab;
  uint64_t bound = (uint64_t)nsel * (rc_depot_count() + 1);
  if (rc_site_tab_init(&tab, bound < g->nblocks ? bound : g->nblocks)) {
    X.failed = true;
    goto out;
  }
  for (uint32_t v = 1; v <= g->nblocks; v++) {
    X.graph_blocks++;
    X.graph_bytes += rc_graph_size(g, v);
    uint32_t t = d->top[v];
    if (t <= g->nblocks) {
      X.shared_blocks++;
      X.shared_bytes += rc_graph_size(g, v);
      continue;
    }
    uint32_t rk = rank[t - g->nblocks - 1];
    if (!rk) continue;
    struct rc_site_sum *e = rc_site_add(&tab, rk, rc_graph_hdr(g, v)->stack);
    e->blocks++;
    e->bytes += rc_graph_size(g, v);
  }
  struct retainer *rt = (struct retainer *)X.ret.data;
  for (size_t i = 0; i < tab.cap; i++)
    if (tab.e[i].blocks) top_insert(rt[tab.e[i].owner - 1].sites, &rt[tab.e[i].owner - 1].nsites, TOP_SITES, &tab.e[i]);
  rc_site_tab_free(&tab);
out:
  unmap_array(rank, g->nroots, 4);
  unmap_array(order, want, 4);
}

static void exit_root(void *ctx, uintptr_t lo, uintptr_t hi, enum rc_root_kind kind, const char *what, long thread)
{
  (void)ctx;
  rc_rootset_range(&X.rs, lo, hi, kind, what, thread);
}

/* Will the at-exit report print nothing? It prints retention only next to
 * leaks or an overwritten header (or with verbose / show_reachable), and
 * the JSON report always carries it; otherwise the dominator tree of a
 * clean program's whole heap would be computed for nobody. Mirrors init.c's
 * "say" from the mark alone (a leak that a suppression later hides still
 * counts: then retention is computed and not shown). */
static bool exit_report_silent(const struct rc_mark *m)
{
  if (rc_opt.json[0] || rc_opt.verbose || rc_opt.show_reachable) return false;
  for (uint32_t i = 1; i < m->nslots; i++) {
    if (!(i & 63) && i + 64 <= m->nslots && ((const uint64_t *)m->marked)[i >> 6] == ~0ull) {
      i += 63;   /* 64 marked blocks */
      continue;
    }
    if (rc_mark_is_marked(m, i)) continue;
    struct rc_hdr *h = rc_mark_live(i);
    if (h ? !(rc_hdr_flags(h) & RC_F_IGNORED) : rc_mark_corrupt(i)) return false;   /* a leak, or an overwritten header */
  }
  return true;
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
  struct rc_graph g;
  if (rc_graph_build(&g, m, &X.rs)) {
    X.failed = true;
    rc_graph_free(&g);
    return;
  }
  X.ms_graph = rc_now_ms() - t0;
  X.nodes = g.n;
  X.edges = g.nedges;
  if (X.want_ret) {
    struct rc_dom d;
    double t1 = rc_now_ms();
    if (rc_dom_compute(&g, &d)) X.failed = true;
    X.ms_dom = rc_now_ms() - t1;
    if (!X.failed) exit_retainers(&g, &d);
    rc_dom_free(&d);
  }
  if (X.want_why) {
    uint8_t *want = map_array(g.nslots / 8 + 1, 1);
    if (want) {
      for (uint32_t v = 1; v <= g.nblocks; v++) {
        bool hit = rc_opt.why_size > 0 && rc_graph_size(&g, v) == (uint64_t)rc_opt.why_size;
        uint32_t st = rc_graph_hdr(&g, v)->stack;
        if (X.why_stacks && st < X.why_nstacks && (X.why_stacks[st >> 3] >> (st & 7) & 1)) hit = true;
        if (hit) want[g.slot_of[v] >> 3] |= (uint8_t)(1u << (g.slot_of[v] & 7));
      }
      if (rc_why_paths(&g, want, 32, &X.why, NULL)) X.failed = true;
      unmap_array(want, g.nslots / 8 + 1, 1);
    } else {
      X.failed = true;
    }
  }
  if (X.rs.failed) X.failed = true;
  rc_graph_free(&g);
  rc_rootset_free(&X.rs);
  X.ms = rc_now_ms() - t0;
}

const struct rc_check_hooks *rc_retain_exit_hooks(void)
{
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
                      "would free); %llu reachable byte%s in %llu block%s, of which %llu in %llu block%s reachable from "
                      "several roots and retained by none\n",
                  (int)getpid(), X.ret.len, X.nretaining, X.nretaining == 1 ? "" : "s",
                  (unsigned long long)X.graph_bytes, plural(X.graph_bytes), (unsigned long long)X.graph_blocks,
                  plural(X.graph_blocks), (unsigned long long)X.shared_bytes, (unsigned long long)X.shared_blocks,
                  plural(X.shared_blocks));
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
        rc_stack_line(&b, st->stack, 3);
        rc_buf_put(&b, "\n", 1);
      }
      if (rt[i].nsites > 3) rc_buf_printf(&b, "      ... more sites and full stacks in the JSON report\n");
    }
  }
  for (size_t i = 0; i < X.why.len; i++) rc_why_text(&b, &((const struct rc_why *)X.why.data)[i]);
  if (rc_opt.verbose)
    rc_buf_printf(&b, "reachcheck: retention: %llu nodes, %llu edges; graph %.2f ms, dominators %.2f ms, total %.2f ms\n",
                  (unsigned long long)X.nodes, (unsigned long long)X.edges, X.ms_graph, X.ms_dom, X.ms);
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
      rc_stack_json(b, s->stack, true);
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

void rc_retain_init(void)
{
  rc_rootnames_init();
  rc_snapshot_init();
}
