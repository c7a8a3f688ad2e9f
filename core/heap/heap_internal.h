/* What the files of heap/ share and nothing above them sees: the cache's
 * size classes and the tables' limits, the private tables, the locks and
 * their order, and the helpers of malloc's and free's fast path, static
 * inline so that splitting the heap into files costs no call. Files, from
 * the bottom up (each uses only those before it): hugepage.c, arena.c, heap.c, slab.c,
 * lookup.c, alloc.c, entry.c. */
#ifndef RC_HEAP_INTERNAL_H
#define RC_HEAP_INTERNAL_H
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include <string.h>
#include "base/base.h"
#include "stack/stack.h"
/* What follows is defined in this library: hidden, so that the heap's files
 * reach each other's data directly, not through the GOT (an instruction
 * more per access on malloc's path once heap.c was split). */
#pragma GCC visibility push(hidden)
#include "heap/heap.h"
#include "stack/counters.h"

/* ---- limits ---- */
#define SLOT_RESERVE (1u << 27)   /* max live blocks: 128M */
#define TSLOTS 256                /* per-thread free-slot stack */
#define SLOT_BATCH 64u            /* slots a thread takes from rc_slot_hwm at a time */
#define MAX_SLABS (SLOT_RESERVE / RC_SLOT_GROUP)

/* ---- the thread cache's classes (alloc.c) ----
 * 1..NSMALL-1: 16-byte granules up to 2 KiB (a small class is the granule
 * count of its objects, header included, and also the slabs' class); then
 * NSMALL + whole 4 KiB pages up to 64 KiB + header. */
#define NSMALL 129
#define NLARGE 18
#define NCLS (NSMALL + NLARGE)
#define SMALL_MAX ((size_t)(NSMALL - 1) << RC_GRANULE_SHIFT)   /* 2 KiB: largest slab object */
/* Class of the objects of slab s. */
static inline size_t slab_class(const struct rc_slab *s) { return (size_t)s->size >> RC_GRANULE_SHIFT; }

/* ---- the bootstrap arena (arena.c) ---- */
#define ARENA_BYTES (1u << 20)
extern char rc_arena[ARENA_BYTES];
extern unsigned rc_arena_extra_n;   /* overflow chunks handed out */
void *rc_arena_alloc(size_t n, size_t align);
bool rc_in_arena_extra(const void *p);
/* Is p an arena block? (free asks first, for every pointer) */
static inline bool in_arena(const void *p)
{
  if ((uintptr_t)p - (uintptr_t)rc_arena < ARENA_BYTES) return true;
  return RC_UNLIKELY(__atomic_load_n(&rc_arena_extra_n, __ATOMIC_ACQUIRE)) && rc_in_arena_extra(p);
}
/* Requested size of arena block p, kept in the word in front of it. */
static inline size_t rc_arena_size(const void *p) { return ((const size_t *)p)[-1]; }

/* ---- the block table (heap.c) ---- */
extern int rc_heap_state;          /* 0 none, 1 initialising, 2 ready */
/* rc_heap_ready, inline for malloc's and free's fast path. */
static inline bool heap_ready(void) { return __atomic_load_n(&rc_heap_state, __ATOMIC_ACQUIRE) == 2; }
extern uint64_t *rc_win_pages;     /* per window, a bit per 4 KiB page that holds a header */
extern GC_word rc_gc_no_at_init;   /* Boehm's collection count once it is set up */
uint32_t rc_win_get(uintptr_t a);
uint32_t rc_slot_get(void);
void rc_slot_put(uint32_t s);
void rc_slots_thread_exit(void);   /* this thread's free slots back to the pool */
/* Slot entry of header h: its window (numbered when the block was
 * allocated) and its granule in it. */
static inline uint32_t rc_slot_entry(const struct rc_hdr *h)
{
  uintptr_t a = (uintptr_t)h;
  RC_DCHECK(!(a & (RC_GRANULE - 1)) && rc_win_of[a >> RC_WIN_SHIFT]);
  return (uint32_t)rc_win_of[a >> RC_WIN_SHIFT] << RC_ENTRY_GRANULE_BITS |
         (uint32_t)((a >> RC_GRANULE_SHIFT) & RC_ENTRY_GRANULE_MASK);
}

/* Store a header: its slot and stack (one 8-byte store) and its bits
 * (rc_hdr_pack's, tag 0) with their tag, and point its slot entry at it.
 * The tag is computed from the arguments, not read back: a 4-byte store to
 * h->stack followed by the tag's 8-byte load of the first word cannot be
 * forwarded from the store buffer and waited for the store to reach the
 * cache (half of rc_set_bits' time at bench/scale.c 16M, perf). Inline: as
 * a call on malloc's and free's fast path it made every value the caller
 * kept across it take a callee-saved register (bench/RESULTS.md, "Counters
 * cost"). */
static inline __attribute__((always_inline)) void set_hdr(struct rc_hdr *h, uint32_t slot, uint32_t stack,
                                                           uint64_t bits, bool known, const struct rc_slab *sl)
{
  /* From rc_hdr_pack, tag 0: said so, the compiler drops the mask
   * rc_hdr_tag would apply (one instruction of every malloc and free). */
#if RC_DEBUG
  RC_DCHECK(!(bits & RC_TAG_MASK));
#else
  if (bits & RC_TAG_MASK) __builtin_unreachable();
#endif
  uint64_t ids = rc_hdr_ids(slot, stack);
  bits |= rc_hdr_tag_of((uintptr_t)h, ids, bits);
  RC_DCHECK(rc_bits_state(bits) == RC_LIVE || rc_bits_state(bits) == RC_FREED);
  RC_DCHECK(slot >= RC_SLOT_GROUP && slot < __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED));
  memcpy(h, &ids, sizeof ids);
  __atomic_store_n(&h->bits, bits, __ATOMIC_RELEASE);
  uint64_t *w = &rc_root_slots[slot >> 6], b = 1ull << (slot & 63);
  bool root = rc_bits_state(bits) == RC_LIVE && (rc_bits_flags(bits) & (RC_F_LDSO | RC_F_IGNORED));
  if (RC_UNLIKELY(root != !!(__atomic_load_n(w, __ATOMIC_RELAXED) & b))) {
    if (root) __atomic_fetch_or(w, b, __ATOMIC_RELEASE);
    else __atomic_fetch_and(w, ~b, __ATOMIC_RELEASE);
  }
  if (known) RC_DCHECK(sl == rc_slab_of_slot(slot));
  if (!(known ? sl : rc_slab_of_slot(slot))) __atomic_store_n(&rc_slots[slot], rc_slot_entry(h), __ATOMIC_RELEASE);
  /* The slot leads back to the header: its entry, or for a slab object its
   * position in the slab; and the header matches its tag. */
  RC_DCHECK(rc_slot_hdr(slot) == h);
  RC_DCHECK(rc_hdr_intact(h, bits));
}
static inline void rc_set_hdr(struct rc_hdr *h, uint32_t slot, uint32_t stack, uint64_t bits)
{ set_hdr(h, slot, stack, bits, false, NULL); }
/* The same, with the slot's slab (rc_slab_of_slot) known: free has it
 * already, and two acquire loads are never merged into one (looked up
 * first in rc_set_hdr, it cost malloc 7 instructions). */
static inline void rc_set_hdr_in(struct rc_hdr *h, uint32_t slot, uint32_t stack, uint64_t bits,
                                 const struct rc_slab *sl)
{ set_hdr(h, slot, stack, bits, true, sl); }
/* Store a header's bits, its slot and stack unchanged. */
static inline void rc_set_bits(struct rc_hdr *h, uint64_t bits) { rc_set_hdr(h, h->slot, h->stack, bits); }

/* Pages that have held a header: Boehm never unmaps them while it does not
 * collect, so free can read the 16 bytes in front of a pointer there. */
static inline uint64_t *page_word(uint32_t w, uintptr_t a, uint64_t *bit)
{
  size_t i = rc_page_index(w, a);
  *bit = 1ull << (i & 63);
  return &rc_win_pages[i >> 6];
}
static inline void note_page(uint32_t w, uintptr_t a)
{
  uint64_t bit, *wd = page_word(w, a, &bit);
  if (!(__atomic_load_n(wd, __ATOMIC_RELAXED) & bit)) __atomic_fetch_or(wd, bit, __ATOMIC_RELAXED);
}
static inline void note_bounds(uintptr_t lo, uintptr_t hi)
{
  uintptr_t cur = __atomic_load_n(&rc_heap_lo, __ATOMIC_RELAXED);
  while (lo < cur && !__atomic_compare_exchange_n(&rc_heap_lo, &cur, lo, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
  cur = __atomic_load_n(&rc_heap_hi, __ATOMIC_RELAXED);
  while (hi > cur && !__atomic_compare_exchange_n(&rc_heap_hi, &cur, hi, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}
/* Epoch 1 lasts until the first scope or check_new: the array is only
 * written after that, so a program that never uses them never touches its
 * pages (4 bytes per block). Its untouched entries read 0, below any epoch a
 * scope can start, the same as the 1 they would hold. */
static inline void note_epoch(uint32_t slot)
{
  uint32_t e = __atomic_load_n(&rc_epoch, __ATOMIC_RELAXED);
  if (e != 1) rc_slot_epoch[slot] = e;
}

/* ---- locks, in the order they are taken ----
 * rc_slab_lock  the slabs' carving state and freed lists (slab.c)
 * rc_pool_lock  the global pool of free slots (heap.c)
 * rc_win_lock   window numbering (heap.c)
 * A thread that holds one takes only those after it. Boehm's allocator lock
 * (inside GC_malloc, GC_free, GC_size) comes after slab_lock and before
 * win_lock: slab_new asks Boehm for memory under slab_lock, then numbers its
 * windows; nothing calls into Boehm with pool_lock or win_lock held. The
 * exception is the check, which takes the three and then Boehm's lock
 * (rc_heap_lock_gc) as the world stops. The arena takes no lock. In
 * RC_DEBUG builds each thread tracks what it holds and RC_DCHECK states the
 * order. */
enum { HL_SLAB = 1, HL_POOL = 2, HL_WIN = 4, HL_ALL = 7 };
extern rc_spinlock rc_slab_lock, rc_pool_lock, rc_win_lock;
#if RC_DEBUG
extern RC_TLS unsigned rc_heap_held;   /* HL_* this thread holds */
#endif
static inline void heap_lock(rc_spinlock *l, unsigned which)
{
#if RC_DEBUG
  RC_DCHECK(rc_heap_held < which);   /* nothing at or after this lock is held */
  rc_spin_lock(l);
  rc_heap_held |= which;
#else
  (void)which;
  rc_spin_lock(l);
#endif
}
static inline void heap_unlock(rc_spinlock *l, unsigned which)
{
#if RC_DEBUG
  RC_DCHECK(rc_heap_held & which);
  rc_heap_held &= ~which;
#else
  (void)which;
#endif
  rc_spin_unlock(l);
}
/* Before a call that may take Boehm's allocator lock. */
static inline void boehm_lock_ok(void)
{
#if RC_DEBUG
  RC_DCHECK(!(rc_heap_held & (HL_POOL | HL_WIN)));
#endif
}
/* Every Boehm allocation of the heap: cleared (Boehm's normal kind) or not
 * (atomic: Boehm neither clears nor scans it), marked as the heap growing
 * for the mmap Boehm may make inside (hugepage.c). */
static inline void *boehm_alloc(size_t bytes, bool cleared)
{
  boehm_lock_ok();
  rc_heap_growing++;
  void *p = cleared ? GC_malloc_uncollectable(bytes) : GC_malloc_atomic_uncollectable(bytes);
  rc_heap_growing--;
  return p;
}

/* ---- slabs (slab.c) ---- */
/* Put up to `want` objects of small class cls on the list *head (user
 * pointers linked by word 0): freed ones from the class's list first, then
 * new ones carved from its slab, handed out in address order. Returns how
 * many. */
unsigned rc_slab_refill(size_t cls, unsigned want, void **head);
/* Hand the freed slab objects first..last (linked by word 0) of class cls
 * to the class's list. */
void rc_slab_put(size_t cls, void *first, void *last);
/* Thread exit: the slabs this thread was carving go to a list per class
 * for the next thread that needs one. */
void rc_slab_thread_exit(void);

/* ---- lookup and bad frees (lookup.c) ---- */
enum { HDR_OK, HDR_NOT_OURS, HDR_CORRUPT };
/* Is h the header of a live block? A header whose slot leads back to it but
 * whose tag does not match its fields was overwritten: HDR_CORRUPT. Inline:
 * it is on every free's path. */
static inline int rc_hdr_check(const struct rc_hdr *h)
{
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  uint32_t s = h->slot;
  if (s == 0 || s >= __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED)) return HDR_NOT_OURS;
  if (rc_slot_hdr(s) != h) return HDR_NOT_OURS;
  if (!rc_hdr_intact(h, bits)) return HDR_CORRUPT;
  return rc_bits_state(bits) == RC_LIVE ? HDR_OK : HDR_NOT_OURS;
}
/* Boehm's count of collections: its variable, read as GC_get_gc_no does,
 * without a call through the PLT on every free (GC_gc_no is marked
 * deprecated in favour of that function, for its unsynchronized read,
 * which is what both do). */
static inline GC_word rc_gc_no(void)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return __atomic_load_n(&GC_gc_no, __ATOMIC_RELAXED);
#pragma GCC diagnostic pop
}
/* free's common case without GC_base: p is a block's user pointer right
 * behind its header, on a page that has held headers, and Boehm has never
 * collected (a program that runs Boehm's collector itself may have had it
 * unmap free pages). Anything else takes rc_classify_hdr. */
static inline struct rc_hdr *fast_hdr(const void *p)
{
  uintptr_t a = (uintptr_t)p - RC_HDR_SIZE;
  if (a & (RC_GRANULE - 1) || a < rc_heap_lo - RC_HDR_SIZE || a >= rc_heap_hi) return NULL;
  uint32_t w = __atomic_load_n(&rc_win_of[a >> RC_WIN_SHIFT], __ATOMIC_RELAXED);
  uint64_t bit;
  if (!w || !(__atomic_load_n(page_word(w, a, &bit), __ATOMIC_RELAXED) & bit) ||
      rc_gc_no() != rc_gc_no_at_init) return NULL;
  struct rc_hdr *h = (struct rc_hdr *)a;
  return rc_hdr_check(h) == HDR_OK && rc_hdr_pad16(h) == 1 ? h : NULL;
}
/* The full classification of a pointer handed to free (is_free) or realloc:
 * the header of the block p is the user pointer of, or NULL after the hook
 * reported what is wrong with p (at: where free or realloc was called). */
struct rc_hdr *rc_classify_hdr(const void *p, bool is_free, const struct rc_at *at);
static inline struct rc_hdr *checked_hdr(const void *p, bool is_free, const struct rc_at *at)
{
  struct rc_hdr *h = fast_hdr(p);
  return RC_LIKELY(h) ? h : rc_classify_hdr(p, is_free, at);
}

/* ---- allocation and release (alloc.c) ---- */
/* Set while this thread is inside the allocator proper (thread cache, slot
 * pool, depot lock, Boehm's lock). A malloc that arrives while it is set
 * comes from a signal handler that interrupted us: it is served from the
 * arena, untracked, instead of deadlocking on a lock this thread holds. */
extern RC_TLS int rc_in_critical;
/* A new block of size bytes aligned to align, its stack captured from at.
 * *fresh: in, the caller wants zeroed memory (calloc); out, the block came
 * zeroed from Boehm. Call with rc_in_critical raised. */
void *rc_alloc_block(size_t size, size_t align, const struct rc_at *at, bool *fresh);
/* Free a live block (the header is valid). Call with rc_in_critical raised. */
void rc_release_block(struct rc_hdr *h);

/* Stale pointers. malloc hands out memory uncleared, and a conservative
 * scan reads every byte of a block, also the bytes its new owner never
 * wrote: an old pointer left there keeps a block that has since leaked
 * "reachable". (gdb: the freed buffers of a grown std::vector<char *> came
 * back as obstack chunks, which write only their 16-byte header, and kept 254
 * leaked strings alive.) So freed blocks up to 4 KiB (nodes, small vectors,
 * obstack chunks: where pointers live) are cleared before they can be served
 * again, blocks from 128 KiB to 2 MiB are cleared on their resident pages,
 * and the whole pages of larger blocks go back to the kernel (alloc.c).
 * Blocks from 4 to 128 KiB are not cleared: on the mixed-size churn of
 * bench/alloc.c, reading them for pointer words made it 5x slower; clearing
 * up to 4 KiB costs 10-25%. Boehm clears freed objects of its scanned kinds
 * for the same reason. */
#define SCRUB_UPTO 4096u
static inline void scrub(uintptr_t lo, uintptr_t hi)
{
  if (rc_opt.scrub_freed && hi > lo && hi - lo <= SCRUB_UPTO) memset((void *)lo, 0, hi - lo);
}
#pragma GCC visibility pop
#endif
