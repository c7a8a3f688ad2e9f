/* Exclusive ownership: for every reachable block, the one root that reaches
 * it, or "shared". What the at-exit report and the at-exit profile need from
 * the dominator tree (the super-root's child above each block) without
 * building the graph or the tree: a block is dominated by root r iff every
 * path from the super-root to it passes through r, i.e. r is the only root
 * that reaches it and no block the roots do not reach points to it (those
 * hang off the super-root in dom.c). Propagated over the heap itself in
 * O(edges): a block is scanned when it is claimed by a root and once more if
 * it later turns shared, so at most twice. Memory: a byte per slot for the
 * owner (2 with 255 roots or more, 4 with 65535 or more) and a stack of
 * block chunks bounded by the graph's depth, not its size. Runs with the world stopped or in a forked copy: memory from
 * rc_mmap. */
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include "retain/retain.h"

/* A block is scanned in chunks of this many bytes: the array of 16M
 * pointers pushes 4096 children and one continuation at a time, not 16M. */
#define CHUNK ((uintptr_t)32768)
/* Candidates are looked up and their owner entry and header prefetched this
 * many words ahead (as mark.c's scan: neighbouring misses overlap). */
#define AHEAD 16
/* Blocks of at most this many words are scanned without the look-ahead. */
#define SMALL_WORDS 4

struct pending { struct rc_hdr *h; uint64_t chunk; };
/* A big block's chunks whose pages were never populated are skipped, as
 * the mark skips them (mark.h, RC_SPARSE_BLOCK): a window of 512 pages'
 * bits is read at a time from /proc/self/pagemap. */
#define WINDOW_PAGES 512u
struct pm_window { int fd; bool failed; uintptr_t base; size_t n; uint64_t bits[WINDOW_PAGES / 64]; };
struct own_work {
  struct rc_own *o;
  const struct rc_mark *m;
  struct rc_site_sum *last_site;     /* the site last added to (neighbouring blocks share it) */
  bool sites, site_failed;
  struct rc_vec stack;   /* struct pending: blocks (chunks) to scan */
  const struct rc_slab *last_slab;   /* near_slot's last answer (mark.c's near) */
  bool tty;
  uint64_t popped, total;
  struct pm_window pm;   /* fd -2: not opened yet */
};

/* Whether [lo, hi) has a page that was ever populated (true when that
 * cannot be told). */
static bool populated(struct own_work *w, uintptr_t lo, uintptr_t hi)
{
  struct pm_window *p = &w->pm;
  if (p->fd == -2) p->fd = rc_pagemap_open();
  if (p->fd < 0 || p->failed) return true;
  for (uintptr_t pg = lo & ~(uintptr_t)(RC_PAGE - 1); pg < hi; pg += RC_PAGE) {
    if (pg < p->base || pg >= p->base + p->n * RC_PAGE) {
      p->base = pg;
      p->n = rc_pagemap_populated(p->fd, pg, WINDOW_PAGES, p->bits);
      if (!p->n) {
        p->failed = true;
        return true;
      }
    }
    size_t i = (pg - p->base) / RC_PAGE;
    if (p->bits[i / 64] >> (i % 64) & 1) return true;
  }
  return false;
}

/* The graph's node rule (graph.c): a marked, live block that is not itself
 * a root (ld.so's, ignored ones). */
static inline bool is_node(const struct rc_mark *m, const struct rc_hdr *h)
{
  return h->slot < m->nslots && rc_mark_is_marked(m, h->slot) && !(rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED));
}

/* The stored owner of slot s (o->shared for shared), and its update, for
 * owner codes of wd bytes. The pass is compiled once per width (drain1,
 * drain2, drain4 below: wd a constant there): asking which array exists at every access
 * cost a load and two branches each, three accesses a candidate. */
#define ALWAYS_INLINE inline __attribute__((always_inline))
static ALWAYS_INLINE uint32_t get(const struct rc_own *o, uint32_t s, unsigned wd)
{
  return wd == 1 ? o->own8[s] : wd == 2 ? o->own16[s] : o->own32[s];
}
static ALWAYS_INLINE void set(struct rc_own *o, uint32_t s, uint32_t v, unsigned wd)
{
  if (wd == 1) o->own8[s] = (uint8_t)v;
  else if (wd == 2) o->own16[s] = (uint16_t)v;
  else o->own32[s] = v;
}
static ALWAYS_INLINE const void *entry_at(const struct rc_own *o, uint32_t s, unsigned wd)
{
  return wd == 1 ? (const void *)&o->own8[s] : wd == 2 ? (const void *)&o->own16[s] : (const void *)&o->own32[s];
}

static inline bool push(struct own_work *w, struct rc_hdr *h, uint64_t chunk)
{
  struct pending *e = rc_vec_push(&w->stack);
  if (!e) return false;
  e->h = h;
  e->chunk = chunk;
  return true;
}

/* Adds a block (sign 1) or takes one off (-1) the sums of (owner, stack):
 * inline when the last entry is the one (neighbouring blocks share it), a
 * call into the table otherwise. */
static __attribute__((noinline)) struct rc_site_sum *site_find(struct own_work *w, uint32_t owner, uint32_t stack)
{
  struct rc_site_sum *e = rc_site_add(&w->o->sites, owner, stack);   /* may move the table: last_site is only this answer */
  if (!e) w->site_failed = true;
  else w->last_site = e;
  return e;
}
static inline void site_note(struct own_work *w, uint32_t owner, uint32_t stack, uint64_t size, int sign)
{
  struct rc_site_sum *e = w->last_site;
  if (RC_UNLIKELY(!e || e->owner != owner || e->stack != stack) && !(e = site_find(w, owner, stack))) return;
  e->blocks += (uint64_t)(int64_t)sign;
  e->bytes += sign > 0 ? size : -size;
}

/* Block h (a node) is reached from a block or root of colour col (a root
 * index + 1 or o->shared). */
static ALWAYS_INLINE bool reach(struct own_work *w, struct rc_hdr *h, uint32_t col, unsigned wd)
{
  struct rc_own *o = w->o;
  uint32_t s = h->slot, cur = get(o, s, wd);
  if (cur == col || cur == o->shared) return true;
  uint64_t size = rc_hdr_size(h);
  if (cur) {   /* a second owner: no root retains it alone */
    o->rblocks[cur]--;
    o->rbytes[cur] -= size;
    if (w->sites) site_note(w, cur, h->stack, size, -1);
    col = o->shared;
  }
  set(o, s, col, wd);
  if (col == o->shared) {
    o->shared_blocks++;
    o->shared_bytes += size;
    if (w->sites) site_note(w, 0, h->stack, size, 1);   /* owner 0: no single root */
  } else {
    o->rblocks[col]++;
    o->rbytes[col] += size;
    if (w->sites) site_note(w, col, h->stack, size, 1);
  }
  /* A block the mark found no heap word in has no children to pass the
   * colour on to: at 16M blocks two thirds of bench/scale.c's heap. */
  return rc_mark_is_leaf(w->m, s) || push(w, h, 0);
}

/* The word is inside the heap's bounds and want is the slot its slab
 * position gives (0 for a large block). A pointer to a block that already
 * has colour col (or is shared) changes nothing and is dropped by its owner
 * entry alone (a garbage word that hits such an entry only skips a word
 * that is no edge). Otherwise graph.c's rule, rc_block_of then the node
 * test; for a slab object the mark bit of its slot stands for the header
 * checks (the marker validated that header: live, its slot, intact), which
 * leaves the user range. */
static ALWAYS_INLINE bool consider(struct own_work *w, uintptr_t word, uint32_t want, struct rc_hdr *h, uint32_t col,
                                   unsigned wd)
{
  if (want && want < w->o->nslots) {
    uint32_t cur = get(w->o, want, wd);
    if (cur == col || cur == w->o->shared) return true;
    if (!h || !rc_mark_is_marked(w->m, want)) return true;
    uintptr_t u = (uintptr_t)rc_hdr_user(h), sz = rc_hdr_size(h);
    if (word < u || !(word - u < sz || (sz == 0 && word == u))) return true;
    if (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED)) return true;
  } else {
    h = rc_block_of(word);
    if (!h || !is_node(w->m, h)) return true;
  }
  return reach(w, h, col, wd);
}

/* Slot a slab position gives for w and the object's header there (0 and
 * NULL outside slabs). The last slab found is tried first, as in mark.c:
 * neighbouring words point into the same slab (bench/scale.c's array of
 * 16M pointers: this pass at 16M blocks went from 350-370 to 210-260 ms). */
static inline uint32_t near_slot(struct own_work *w, uintptr_t word, struct rc_hdr **h)
{
  const struct rc_slab *s = w->last_slab;
  if (!s || word - s->base >= RC_SLAB_BYTES) {
    s = rc_slab_at(word);
    if (!s) {
      *h = NULL;
      return 0;
    }
    w->last_slab = s;
  }
  uint32_t k = rc_slab_index(s, word);
  *h = rc_slab_obj(s, k);
  return s->first + k;
}

/* Scan words [lo, hi) of a block of colour col. */
static ALWAYS_INLINE bool scan(struct own_work *w, uintptr_t lo, uintptr_t hi, uint32_t col, unsigned wd)
{
  if (rc_opt.unaligned) {
    for (uintptr_t p = lo; p + 8 <= hi; p++) {
      uintptr_t x;
      memcpy(&x, (const void *)p, sizeof x);
      if (x < rc_heap_lo || x >= rc_heap_hi) continue;
      struct rc_hdr *h;
      uint32_t want = near_slot(w, x, &h);
      if (!consider(w, x, want, h, col, wd)) return false;
    }
    return true;
  }
  const uintptr_t *p = (const uintptr_t *)((lo + 7) & ~(uintptr_t)7), *e = (const uintptr_t *)(hi & ~(uintptr_t)7);
  uintptr_t lo_b = rc_heap_lo, hi_b = rc_heap_hi;
  if (e - p <= SMALL_WORDS) {   /* a list node: nothing to overlap, the ring only costs */
    for (; p < e; p++) {
      uintptr_t x = *p;
      if (x < lo_b || x >= hi_b) continue;
      struct rc_hdr *h;
      uint32_t want = near_slot(w, x, &h);
      if (!consider(w, x, want, h, col, wd)) return false;
    }
    return true;
  }
  struct { uintptr_t w; struct rc_hdr *h; uint32_t want; } q[AHEAD];
  unsigned n = 0;
  for (; p < e; p++) {
    uintptr_t x = *p;
    if (x < lo_b || x >= hi_b) continue;
    unsigned i = n++ % AHEAD;
    if (n > AHEAD && !consider(w, q[i].w, q[i].want, q[i].h, col, wd)) return false;   /* candidate n - 1 - AHEAD */
    q[i].w = x;
    q[i].want = near_slot(w, x, &q[i].h);
    if (q[i].want < w->o->nslots) __builtin_prefetch(entry_at(w->o, q[i].want, wd));
    if (q[i].h) __builtin_prefetch(q[i].h);
  }
  for (unsigned k = n > AHEAD ? n - AHEAD : 0; k < n; k++)
    if (!consider(w, q[k % AHEAD].w, q[k % AHEAD].want, q[k % AHEAD].h, col, wd)) return false;
  return true;
}

/* Scan every pushed block chunk until the stack is empty. The colour of a
 * block is read when it is popped: one that turned shared meanwhile passes
 * "shared" on. */
static ALWAYS_INLINE bool drain_wd(struct own_work *w, unsigned wd)
{
  while (w->stack.len) {
    struct pending e = ((struct pending *)w->stack.data)[--w->stack.len];
    struct rc_hdr *h = e.h;
    uintptr_t user = (uintptr_t)rc_hdr_user(h), end = user + rc_hdr_size(h);
    uintptr_t lo = user + e.chunk * CHUNK;
    /* positions [lo, lo + CHUNK) now; the words after them once this
     * chunk's children are done (of a big block, the next chunk with a
     * page ever populated: the others hold no word) */
    uint64_t next = e.chunk + 1;
    if (end - user >= RC_SPARSE_BLOCK)
      while (user + next * CHUNK + 8 <= end &&
             !populated(w, user + next * CHUNK, user + (next + 1) * CHUNK < end ? user + (next + 1) * CHUNK : end))
        next++;
    if (user + next * CHUNK + 8 <= end && !push(w, h, next)) return false;
    uintptr_t hi = lo + CHUNK + 7 < end ? lo + CHUNK + 7 : end;
    if (!scan(w, lo, hi, get(w->o, h->slot, wd), wd)) return false;
    if (!(++w->popped & 0xffff)) rc_progress(w->tty, "retention: owners of blocks", w->popped, w->total);
  }
  return true;
}
static __attribute__((noinline)) bool drain1(struct own_work *w) { return drain_wd(w, 1); }
static __attribute__((noinline)) bool drain2(struct own_work *w) { return drain_wd(w, 2); }
static __attribute__((noinline)) bool drain4(struct own_work *w) { return drain_wd(w, 4); }
static inline unsigned width(const struct rc_own *o) { return o->own8 ? 1 : o->own16 ? 2 : 4; }
static bool drain(struct own_work *w)
{
  unsigned wd = width(w->o);
  return wd == 1 ? drain1(w) : wd == 2 ? drain2(w) : drain4(w);
}

static bool from_roots(struct own_work *w, const struct rc_rootset *rs)
{
  const struct rc_root_edge *re = (const struct rc_root_edge *)rs->edges.data;
  for (size_t i = 0; i < rs->edges.len; i++) {
    if (re[i].slot >= w->m->nslots || !rc_mark_is_marked(w->m, re[i].slot)) continue;
    struct rc_hdr *h = rc_mark_live(re[i].slot);
    if (!h || !is_node(w->m, h)) continue;
    if (!reach(w, h, re[i].root + 1, width(w->o)) || !drain(w)) return false;
  }
  return true;
}

/* Marked blocks no root reaches (the marker saw a pointer the root set no
 * longer holds): dom.c hangs them off the super-root, so they and all they
 * reach are retained by no root. */
static bool from_unreached(struct own_work *w)
{
  const uint64_t *mk = (const uint64_t *)w->m->marked;
  const unsigned wd = width(w->o);
  const uint32_t n = w->m->nslots;
  for (uint32_t wi = 0; wi < (n + 63) / 64; wi++) {
    for (uint64_t bits = mk[wi]; bits; bits &= bits - 1) {
      uint32_t i = wi * 64 + (uint32_t)__builtin_ctzll(bits);
      if (!i || i >= n || (wd == 1 ? w->o->own8[i] : get(w->o, i, wd))) continue;
      struct rc_hdr *h = rc_mark_live(i);
      if (!h || !is_node(w->m, h)) continue;
      if (!reach(w, h, w->o->shared, wd) || !drain(w)) return false;
    }
  }
  return true;
}

int rc_own_compute(struct rc_mark *m, struct rc_rootset *rs, struct rc_own *o, bool sites)
{
  memset(o, 0, sizeof *o);
  /* blocks that are roots themselves join first: the same root indexes
   * as the graph's */
  rc_rootset_blocks(rs, m);
  o->nslots = m->nslots;
  o->nroots = (uint32_t)rs->roots.len;
  if (o->nroots < 0xff) {   /* a byte a slot: at 16M blocks 28 MiB less to fault in and to miss on */
    o->own8 = rc_map_array(o->nslots, 1);
    o->shared = 0xff;
  } else if (o->nroots < 0xffff) {
    o->own16 = rc_map_array(o->nslots, 2);
    o->shared = 0xffff;
  } else {
    o->own32 = rc_map_array(o->nslots, 4);
    o->shared = RC_OWN_SHARED;
  }
  o->rbytes = rc_map_array((size_t)o->nroots + 1, 8);
  o->rblocks = rc_map_array((size_t)o->nroots + 1, 8);
  struct own_work w = {o, m, NULL, sites, false, {0}, NULL, rc_progress_tty(m->reach_blocks), 0, m->reach_blocks,
                       {.fd = -2}};
  rc_vec_init(&w.stack, sizeof(struct pending));
  bool ok = (o->own8 || o->own16 || o->own32) && o->rbytes && o->rblocks &&
            (!sites || !rc_site_tab_init(&o->sites, 256)) && from_roots(&w, rs) && from_unreached(&w);   /* 1024 entries, then 4x */
  rc_progress(w.tty, "", 1, 1);
  rc_vec_free(&w.stack);
  if (w.pm.fd >= 0) close(w.pm.fd);
  if (w.site_failed) ok = false;
  if (!ok) {
    rc_own_free(o);
    return -1;
  }
  o->rblocks[0] = o->shared_blocks;
  o->rbytes[0] = o->shared_bytes;
  for (uint32_t r = 1; r <= o->nroots; r++) {
    o->rblocks[0] += o->rblocks[r];
    o->rbytes[0] += o->rbytes[r];
  }
  return 0;
}

void rc_own_free(struct rc_own *o)
{
  if (o->own8) rc_unmap_array(o->own8, o->nslots, 1);
  if (o->own16) rc_unmap_array(o->own16, o->nslots, 2);
  if (o->own32) rc_unmap_array(o->own32, o->nslots, 4);
  rc_unmap_array(o->rbytes, (size_t)o->nroots + 1, 8);
  rc_unmap_array(o->rblocks, (size_t)o->nroots + 1, 8);
  if (o->sites.e) rc_site_tab_free(&o->sites);
  memset(o, 0, sizeof *o);
}
