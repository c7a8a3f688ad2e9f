/* Mark state of one check: bitmaps indexed by block slot. */
#ifndef RC_MARK_H
#define RC_MARK_H
#include "check/check.h"

struct rc_mark {
  uint32_t nslots;
  size_t bytes;
  uint8_t *marked, *indirect;
  /* Marked blocks with no word inside the heap's bounds, found when the
   * mark scanned them: a pass over the marked heap (retain/owner.c) need
   * not scan them again. May be NULL. */
  uint8_t *leaf;
  struct rc_vec stack;
  bool overflow;
  uint64_t scanned;
  uint64_t popped;
  int tty;              /* -1 unknown, 0 no, 1 show progress */
  int depth;            /* drains nested inside a scan (see scan) */
  /* Mark bits by address (one per 16-byte granule of [alo, heap_hi)), so a
   * pointer to a block already marked is dropped without touching its
   * header; NULL if the heap span is too large. */
  uint8_t *abits;
  uint64_t reach_blocks, reach_bytes, ign_blocks, ign_bytes;   /* counted when marked */
  uintptr_t alo;
  size_t abytes;
  void *one;            /* marked, indirect, leaf and abits carved from this mapping (small heaps), or NULL */
  size_t one_bytes;
  const struct rc_slab *last_slab;   /* the slab the last candidate was in */
  /* Made by rc_mark_classify's sweep over every unmarked slot: the ones
   * that hold a live, visible block (ascending) and how many hold an
   * overwritten header, so that the later passes over the unmarked (the
   * at-exit silence test, the leak groups) read these instead of every
   * unmarked slot again. A program that freed most of what it allocated
   * has many more unmarked slots than leaks: python3 at exit, 3 sweeps
   * over its freed slots were 6% of its instructions. unl_ready (set with
   * release once the list is whole): false before classify, past 1M
   * listed slots (mark.c, UNL_MAX), out of memory, or after rc_mark_reset. */
  struct rc_vec unl;
  uint64_t unl_corrupt;
  bool unl_ready;
};
/* leaves: also flag the marked blocks with no heap word (struct rc_mark's
 * leaf), for a pass over the marked heap after the mark (an after_mark
 * hook); without one nobody reads them. */
int rc_mark_init(struct rc_mark *m, bool leaves);
void rc_mark_free(struct rc_mark *m);
/* Forget every mark (not the indirect flags) to mark again from other roots. */
void rc_mark_reset(struct rc_mark *m);
void rc_mark_range(struct rc_mark *m, uintptr_t lo, uintptr_t hi);
void rc_mark_block(struct rc_mark *m, struct rc_hdr *h);
struct rc_hdr *rc_mark_live(uint32_t slot);
/* For the sweeps over every unmarked slot (most of them freed): the
 * slot's live, visible block as rc_mark_live gives it, or NULL, and in
 * *corrupt whether its header was overwritten (not pointing back at its
 * slot, or not matching its tag); one lookup and one read of the header. */
struct rc_hdr *rc_mark_live_or_corrupt(uint32_t slot, bool *corrupt);
/* The unmarked slots listed by rc_mark_classify (struct rc_mark's unl), or
 * NULL when there is no such list: sweep every unmarked slot instead. A
 * pass that may run beside classify (an after_mark hook on the helper)
 * gets NULL until classify is done. */
const uint32_t *rc_mark_unmarked_live(const struct rc_mark *m, size_t *n, uint64_t *corrupt);
/* Inline: the retention passes ask once per candidate pointer. */
static inline bool rc_mark_is_marked(const struct rc_mark *m, uint32_t slot)
{ return slot < m->nslots && (m->marked[slot >> 3] >> (slot & 7) & 1); }
/* The first slot from i on (below nslots) that the mark did not reach, or
 * nslots: the leak passes skip a word of 64 reached slots at a time (at
 * bench/scale.c 16M, 28M slots of which 4M leaked, classify and collect
 * spent ~25 ms each testing bits one by one). */
static inline uint32_t rc_mark_next_unmarked(const struct rc_mark *m, uint32_t i)
{
  const uint64_t *mk = (const uint64_t *)m->marked;   /* mmap'd: aligned; bit i of byte k is slot 8k + i */
  while (i < m->nslots) {
    uint64_t bits = ~mk[i >> 6] & (~0ull << (i & 63));
    if (bits) {
      uint32_t j = (i & ~63u) + (uint32_t)__builtin_ctzll(bits);
      return j < m->nslots ? j : m->nslots;
    }
    i = (i | 63) + 1;
  }
  return m->nslots;
}
static inline bool rc_mark_is_indirect(const struct rc_mark *m, uint32_t slot)
{ return slot < m->nslots && (m->indirect[slot >> 3] >> (slot & 7) & 1); }
void rc_mark_classify(struct rc_mark *m);
/* The live blocks that are roots themselves (ld.so's, ignored ones: a bit
 * each in rc_root_slots), in slot order: the first at slot *i or after
 * (below nslots), with *i set to its slot; NULL when none is left. */
struct rc_hdr *rc_mark_root_block(const struct rc_mark *m, uint32_t *i);
static inline bool rc_mark_is_leaf(const struct rc_mark *m, uint32_t slot)
{ return m->leaf && slot < m->nslots && (m->leaf[slot >> 3] >> (slot & 7) & 1); }

/* A block from this size on is read only by its runs of pages ever
 * populated (scanners/maps.c, rc_populated_runs): a sparse table (calloc 1
 * GiB, a few pages used; heap/entry.c keeps its other pages untouched) is
 * not faulted in whole by the mark, the classification, the retention
 * passes and the graph. Below it, the open and read of /proc/self/pagemap
 * cost more than reading the block. */
#define RC_SPARSE_BLOCK ((uintptr_t)2 << 20)
/* Calls fn on the populated runs of block [u, e) and returns true if it is
 * that big and its pages can be told apart; else the caller reads it whole. */
static inline bool rc_block_runs(uintptr_t u, uintptr_t e, void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi),
                                 void *ctx)
{
  return e - u >= RC_SPARSE_BLOCK && rc_populated_runs(u, e, fn, ctx);
}

/* The rule of what a pointer is, for the analyses that rescan memory after
 * the mark (the retention graph, the root set): every word of [lo, hi)
 * (8-aligned, or at every byte offset with unaligned=1) that points into a
 * live tracked block, passed to fn with the block's header; stops early
 * and returns false when fn does. The mark phase applies the same rule in
 * its own pipelined loop (mark.c: scan). */
static inline bool rc_scan_pointers(uintptr_t lo, uintptr_t hi, bool (*fn)(void *ctx, uintptr_t at, struct rc_hdr *h),
                                    void *ctx)
{
  if (hi <= lo) return true;
  uintptr_t step = rc_opt.unaligned ? 1 : 8;
  uintptr_t p = rc_opt.unaligned ? lo : (lo + 7) & ~(uintptr_t)7;
  for (; p + 8 <= hi; p += step) {
    uintptr_t w;
    __builtin_memcpy(&w, (const void *)p, sizeof w);
    if (w < rc_heap_lo || w >= rc_heap_hi) continue;
    struct rc_hdr *h = rc_block_of(w);
    if (h && !fn(ctx, p, h)) return false;
  }
  return true;
}
#endif
