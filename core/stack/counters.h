/* Allocation counters per allocation stack (pprof's alloc_* values; the
 * over-time views build on them): how many blocks and bytes each stack id allocated and freed since
 * the program started. pprof's alloc_objects/alloc_space are the allocation
 * sums; allocations minus frees are what is in use.
 *
 * Cost model: malloc and free add to a table owned by the calling thread
 * (no lock, no atomic read-modify-write, no cache line shared with another
 * thread); a profile sums every table. A table is two-level (stack id >> 10
 * picks a leaf of 1024 entries, mapped on a thread's first count in that
 * range), so a thread pays memory only for the stacks it used. Tables
 * are never unmapped: an exited thread's table goes back to a free list and
 * the next new thread adds to it, so its counts stay in every sum.
 *
 * All functions are safe with the world stopped and in a forked copy
 * except where noted: they take no lock and never allocate from the
 * checked heap. */
#ifndef RC_STACK_COUNTERS_H
#define RC_STACK_COUNTERS_H
#include <stdint.h>
#include "base/base.h"

struct rc_count {
  uint64_t allocs, alloc_bytes;   /* blocks allocated with this stack since start, and their bytes */
  uint64_t frees, free_bytes;     /* of those, freed (by any thread) */
  uint64_t temps;                 /* of those, temporary: freed by the thread that made them before it
                                     allocated anything else (docs/over-time.md) */
};

#define RC_COUNT_LEAF_BITS 10
#define RC_COUNT_LEAF (1u << RC_COUNT_LEAF_BITS)
#define RC_COUNT_MAX_IDS (1u << 24)   /* the depot's limit */
#define RC_LIVE_FLUSH_MIN ((int64_t)1 << 10)   /* the smallest flush_at (stack/timeline.c) */
/* The delta's room below zero, in spans (docs/over-time.md): an
 * unflushed negative delta only makes the total read high, which costs at
 * most a sum that finds no new peak, never a missed one, so that side is
 * wider and a churn hands its delta on RC_LIVE_DOWN_SPANS times less often. */
#define RC_LIVE_DOWN_SPANS 4
#define RC_COUNT_NO_CELL_ID UINT32_MAX   /* rc_me.cstack before a thread's first count: no stack id */
/* What a leaf holds per stack: the four sums malloc and free add to (32
 * bytes: an entry is found with a shift, and never straddles two cache
 * lines), then, after the leaf's RC_COUNT_LEAF cells, a second row of as
 * many cell-sized entries whose first word is the stack's temporaries
 * count (only a temporary free adds to it). At a fixed distance from the
 * cell, the count is one add away; packed 8 bytes apart it needed the
 * stack's index in the leaf, and free saved and restored a register for
 * that on every call (bench/RESULTS.md, "Counters cost"). The row's other
 * words are never written: its pages cost memory only where temporaries
 * were counted. */
struct rc_count_cell { uint64_t allocs, alloc_bytes, frees, free_bytes; };
#define RC_COUNT_LEAF_BYTES ((size_t)2 * RC_COUNT_LEAF * sizeof(struct rc_count_cell))
static inline uint64_t *rc_count_temps(struct rc_count_cell *c) { return &c[RC_COUNT_LEAF].allocs; }
struct rc_count_tab {
  struct rc_count_cell *leaf[RC_COUNT_MAX_IDS >> RC_COUNT_LEAF_BITS];
};
/* A thread's counting state, one TLS object: the fast path finds all of
 * it through one TLS offset (a shared library's initial-exec TLS costs a
 * GOT load per variable), in one cache line (aligned: at the TLS block's
 * 16-byte alignment its 56 bytes straddled two lines three times in four,
 * and the churn's freed-bytes clearing evicts both from L1 between calls). */
struct __attribute__((aligned(64))) rc_count_me {
  struct rc_count_tab *tab;   /* this thread's table (starts at an empty one) */
  /* The cell of the stack this thread counted last (cstack
   * RC_COUNT_NO_CELL_ID: none): allocation loops and a free right after
   * its malloc count the same stack, and a compare replaces the two-level
   * lookup. */
  uint32_t cstack;
  uint32_t tsc_skips;   /* flushes since this thread last read the clock (stack/timeline.c) */
  struct rc_count_cell *ccell;
  /* Live bytes over time (stack/timeline.h): what this thread allocated
   * minus what it freed since it last handed that delta to the global
   * total, which it does when the delta leaves [-RC_LIVE_DOWN_SPANS x
   * span, span] (span: a fraction of the peak so far, copied at each
   * flush: docs/over-time.md), so malloc and free touch no shared cache
   * line. Kept shifted up by RC_LIVE_DOWN_SPANS spans, as level = delta +
   * RC_LIVE_DOWN_SPANS x span, which lies in [0, level_max] while no
   * flush is due: a malloc adds its size, a free subtracts it, and one
   * unsigned compare with level_max catches both sides (a level below
   * zero wraps to above any bound). One store a call: two rooms, each
   * updated by every call, took two, and on the churn, whose frees clear
   * freed bytes and leave the store buffer full, the second store cost
   * more than the compare it saved (bench/RESULTS.md, session 14).
   * rc_live_delta gives the delta. */
  uint64_t level, level_max;
  int64_t span;
  /* Slot id (core/heap) of this thread's last allocation, for the
   * temporaries: a free of that slot before the thread allocates again is
   * a temporary. An id, not the block's address: TLS is a root, and the
   * checker's own copy of a pointer must not keep a leaked block alive.
   * The 8-byte word it shares with last_guard (always 0xffffffff) reads
   * as a non-canonical address, which no conservative scan takes for a
   * pointer. A free never clears it: only the block with that slot can
   * match, and that block can be freed once before the next allocation
   * replaces it. 0: none (slot ids start at 1). */
  uint32_t last, last_guard;
};
/* The thread's counting state and the allocator's per-thread cache are one
 * TLS object: a shared library's initial-exec TLS costs a GOT load per
 * variable, and malloc and free use both (one load a call fewer). The
 * cache's layout is core/heap's (alloc.c); this layer only reserves its
 * bytes. */
#define RC_HEAP_TLS_BYTES 1536
struct rc_thread_hot {
  struct rc_count_me me;
  union { unsigned char bytes[RC_HEAP_TLS_BYTES]; void *align; } heap;
};
extern RC_TLS struct rc_thread_hot rc_hot;
#define rc_me (rc_hot.me)
/* The first count of a thread, or of a stack range in it: makes the table
 * or leaf and adds (or adds atomically to the shared table when no table
 * can be had). kind: what is counted. */
enum { RC_COUNT_ALLOC, RC_COUNT_FREE, RC_COUNT_FREE_TEMP };
void rc_count_slow(uint32_t stack, uint64_t size, int kind);
/* Hands the thread's delta to the total (stack/timeline.c). */
void rc_live_flush(void);
/* The thread's live-byte delta not yet handed on. */
static inline int64_t rc_live_delta(void)
{
  return (int64_t)(rc_me.level - (uint64_t)(RC_LIVE_DOWN_SPANS * rc_me.span));
}

/* The calling thread's entry for stack, NULL when not made yet. A thread
 * starts with rc_me.tab at an empty table (no leaves) rather than NULL,
 * and stack ids come from the depot, which hands out fewer than
 * RC_COUNT_MAX_IDS (its MAX_IDS): the fast path is a compare with the last
 * stack, else two loads and a test. */
static inline struct rc_count_cell *rc_count_at(uint32_t stack)
{
  if (RC_LIKELY(stack == rc_me.cstack)) {
    struct rc_count_cell *c = rc_me.ccell;
    if (c == NULL) __builtin_unreachable();   /* cstack is set with its cell: no test on the fast path */
    return c;
  }
  struct rc_count_cell *l = rc_me.tab->leaf[stack >> RC_COUNT_LEAF_BITS];
  if (RC_UNLIKELY(l == NULL)) return NULL;
  rc_me.cstack = stack;
  return rc_me.ccell = &l[stack & (RC_COUNT_LEAF - 1)];
}
/* Only the owner thread writes its table; a profile reads it meanwhile
 * (with relaxed atomic loads). One add to memory: an aligned 64-bit store
 * is never torn on x86-64, and as an asm statement it is no C data race;
 * a sum may miss the counts of allocations under way. */
static inline void rc_count_add(uint64_t *f, uint64_t v)
{ __asm__("addq %1, %0" : "+m"(*f) : "er"(v)); }

/* Called by the allocator (core/heap) for every block with its slot id,
 * in the thread's critical section (a signal handler that mallocs
 * meanwhile is served from the arena, untracked and uncounted). A block
 * without a stack (stack id 0: the runtime's own, or allocated under
 * reachcheck_disable()) counts in cell 0, which no profile, site list,
 * peak or point reads: the allocator tests nothing (2 instructions a
 * malloc and a free, bench/RESULTS.md, "Counters cost"), and the live
 * delta is every block's (the recorder allows for cell 0's bytes,
 * stack/timeline.c).
 *
 * rc_count_alloc and rc_count_free are the whole count. free's fast path
 * (alloc.c) calls no function for it: rc_count_free_cell adds to the
 * stack's cell (false: the thread has no cell for it yet, nothing done,
 * and the caller calls rc_count_slow), then rc_count_free_rest updates the
 * live delta's level (RC_COUNT_FLUSH: the caller calls rc_live_flush() at
 * its very end, when nothing of its own lives across the call). */
enum { RC_COUNTED, RC_COUNT_FLUSH };
#ifdef RC_PROFILE_NO_COUNTERS
/* Only to measure what counting costs (bench/RESULTS.md): a build with
 * -DRC_PROFILE_NO_COUNTERS counts nothing (no profile counts, peak,
 * temporaries nor timeline). */
static inline bool rc_count_free_cell(uint32_t stack, uint64_t size, uint32_t slot) { (void)stack, (void)size, (void)slot; return true; }
static inline int rc_count_free_rest(uint64_t size) { (void)size; return RC_COUNTED; }
static inline void rc_count_alloc(uint32_t stack, uint64_t size, uint32_t slot) { (void)stack, (void)size, (void)slot; }
static inline void rc_count_free(uint32_t stack, uint64_t size, uint32_t slot) { (void)stack, (void)size, (void)slot; }
#else
/* The live delta's level after an allocation or a free of size bytes
 * (RC_COUNT_FLUSH when the delta is due to be handed on). A level never
 * wraps past 2^64 upwards: it is at most level_max before the add, and
 * sizes are below 2^36 (core/heap's RC_MAX_SIZE). The add to memory and
 * its reload, in asm, are one instruction fewer than the load, add and
 * store the compiler makes of it (the output is written last, so it may
 * share a register with the inputs). */
static inline int rc_count_alloc_rest(uint64_t size)
{
  uint64_t l;
  __asm__("addq %2, %0\n\tmovq %0, %1" : "+m"(rc_me.level), "=r"(l) : "er"(size));
  return RC_UNLIKELY(l > rc_me.level_max) ? RC_COUNT_FLUSH : RC_COUNTED;
}
/* A free can only lower the level, which stays at most level_max, so the
 * one bound it can cross is zero: the subtraction's borrow says so, and a
 * jump on it replaces the reload and the compare (asm goto: the flag
 * cannot leave an asm statement otherwise). The level is an input with a
 * memory clobber, not a "+m" output: Debian's gcc 12.2 compiled the
 * output form of this asm goto, inlined in rc_release_block, into a jb
 * to the subtraction itself and dropped the flush (bench/RESULTS.md). */
static inline int rc_count_free_rest(uint64_t size)
{
  __asm__ goto("subq %1, %0\n\tjb %l[below]" : : "m"(rc_me.level), "er"(size) : "cc", "memory" : below);
  return RC_COUNTED;
below:
  return RC_COUNT_FLUSH;
}
static inline bool rc_count_free_cell(uint32_t stack, uint64_t size, uint32_t slot)
{
  struct rc_count_cell *c = rc_count_at(stack);
  if (RC_UNLIKELY(c == NULL)) return false;
  rc_count_add(&c->frees, 1);
  rc_count_add(&c->free_bytes, size);
  if (RC_UNLIKELY(slot == rc_me.last)) rc_count_add(rc_count_temps(c), 1);   /* temporary */
  return true;
}
static inline void rc_count_alloc(uint32_t stack, uint64_t size, uint32_t slot)
{
  struct rc_count_cell *c = rc_count_at(stack);
  if (RC_LIKELY(c != NULL)) {
    rc_count_add(&c->allocs, 1);
    rc_count_add(&c->alloc_bytes, size);
  } else {
    rc_count_slow(stack, size, RC_COUNT_ALLOC);
  }
  rc_me.last = slot;
  if (RC_UNLIKELY(rc_count_alloc_rest(size) == RC_COUNT_FLUSH)) rc_live_flush();
}
static inline void rc_count_free(uint32_t stack, uint64_t size, uint32_t slot)
{
  if (RC_UNLIKELY(!rc_count_free_cell(stack, size, slot)))
    rc_count_slow(stack, size, slot == rc_me.last ? RC_COUNT_FREE_TEMP : RC_COUNT_FREE);
  if (RC_UNLIKELY(rc_count_free_rest(size) == RC_COUNT_FLUSH)) rc_live_flush();
}
#endif
/* A free from a signal handler that interrupted this thread inside the
 * allocator (which may be half-way through an update of its own table):
 * counted in a shared table with atomic adds (the caller also takes the
 * bytes off the live total: rc_live_add_async). */
void rc_count_free_async(uint32_t stack, uint64_t size);

/* Sum of every table into out[0..n) (out is overwritten; n is usually
 * rc_depot_count() + 1). Lock-free; usable with the world stopped and in
 * a forked copy. */
void rc_counts_sum(struct rc_count *out, uint32_t n);
/* What is live per stack id below n (allocations minus frees: blocks and
 * bytes), summed over every table, and its totals over every stack id but
 * 0 (what bytes[1..n) and blocks[1..n) add up to): the peak's and the
 * timeline's only need, at 16 bytes a stack id instead of rc_counts_sum's
 * 40. bytes and blocks are overwritten. */
void rc_counts_live(uint64_t *bytes, uint64_t *blocks, uint32_t n, uint64_t *total_bytes, uint64_t *total_blocks);
/* Live bytes and blocks of every stack id but 0 (the blocks without a
 * stack), summed over every table without per-stack arrays: what
 * __sanitizer_get_current_allocated_bytes answers. */
void rc_counts_live_total(uint64_t *bytes, uint64_t *blocks);
/* Thread exit (scanners/threads.c): the table goes to the free list. */
void rc_counts_thread_exit(void);
/* fork: the child's other threads are gone, their tables free. */
void rc_counts_fork_prepare(void);
void rc_counts_fork_parent(void);
void rc_counts_fork_child(void);
#endif
