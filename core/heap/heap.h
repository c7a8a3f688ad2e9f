/* The heap layer: the tracked heap (heap/: heap.c the block table, slab.c
 * the slabs, lookup.c which block an address is, alloc.c allocation through
 * the per-thread cache, entry.c malloc and friends, arena.c the bootstrap
 * arena), its block headers, slot table and slabs. Uses base/ and stack/;
 * tells the layers above about bad frees through a hook
 * (rc_heap_set_bad_hook). docs/design.md draws it, docs/boehm.md has the
 * facts about Boehm GC it relies on. */
#ifndef RC_HEAP_H
#define RC_HEAP_H
#include <gc/gc.h>
#include "base/base.h"
#include "stack/stack.h"

/* ---- address geometry ---- */
#define RC_ADDR_BITS 47        /* user space lies below 2^47 (4-level paging's lower half) */
#define RC_GRANULE_SHIFT 4     /* headers, blocks and size classes go by 16 bytes */
#define RC_GRANULE (1u << RC_GRANULE_SHIFT)
#define RC_PAGE_SHIFT 12       /* 4 KiB pages (RC_PAGE) */
_Static_assert(RC_PAGE == 1u << RC_PAGE_SHIFT, "RC_PAGE is 2^RC_PAGE_SHIFT");
/* Does address a lie above what the tables cover (5-level paging's upper
 * part, or no user address at all)? */
static inline bool rc_addr_high(uintptr_t a) { return (a >> RC_ADDR_BITS) != 0; }

/* ---- block headers ---- */
enum rc_state { RC_FREED = 0x5, RC_LIVE = 0xA };
enum rc_flags {
  RC_F_IGNORED = 1,   /* reachcheck_ignore(): a root, never reported */
  RC_F_INTERNAL = 2,  /* allocated by reachcheck or its libraries: invisible */
  RC_F_LDSO = 4,      /* allocated by ld.so for itself: a root */
  RC_F_REPORTED = 8,  /* already reported as leaked by an earlier check */
};
/* 16 bytes in front of every user block, at the Boehm object base. Word 0 is
 * overwritten by GC_free's free-list link, so the state lives in word 1. */
struct rc_hdr {
  uint32_t slot;      /* index in rc_slots */
  uint32_t stack;     /* stack depot id */
  uint64_t bits;      /* size:36 | tag:12 | pad16:8 | flags:4 | state:4 */
};
#define RC_HDR_SIZE 16u
/* Fields of rc_hdr.bits, from the low end. */
#define RC_STATE_MASK 0xfu     /* enum rc_state */
#define RC_FLAGS_SHIFT 4
#define RC_FLAGS_MASK 0xfu     /* enum rc_flags */
#define RC_PAD_SHIFT 8
#define RC_PAD_MASK 0xffu      /* user pointer - header, in granules */
#define RC_TAG_SHIFT 16
#define RC_TAG_BITS 12
#define RC_SIZE_SHIFT 28
#define RC_SIZE_BITS 36
_Static_assert(RC_TAG_SHIFT + RC_TAG_BITS == RC_SIZE_SHIFT && RC_SIZE_SHIFT + RC_SIZE_BITS == 64,
               "size:36 | tag:12 | pad16:8 | flags:4 | state:4 fill the word");
#define RC_MAX_SIZE ((1ull << RC_SIZE_BITS) - 1)   /* 64 GiB - 1 per block */
#define RC_PAD_ESC RC_PAD_MASK                     /* pad in word 2 */
#define RC_TAG_MASK (((1ull << RC_TAG_BITS) - 1) << RC_TAG_SHIFT)
/* The fields of a header's bits word (read once, then taken apart). */
static inline uint64_t rc_bits_size(uint64_t b) { return b >> RC_SIZE_SHIFT; }
static inline unsigned rc_bits_pad16(uint64_t b) { return (unsigned)(b >> RC_PAD_SHIFT) & RC_PAD_MASK; }
static inline unsigned rc_bits_flags(uint64_t b) { return (unsigned)(b >> RC_FLAGS_SHIFT) & RC_FLAGS_MASK; }
static inline unsigned rc_bits_state(uint64_t b) { return (unsigned)b & RC_STATE_MASK; }
static inline uint64_t rc_hdr_size(const struct rc_hdr *h) { return rc_bits_size(h->bits); }
static inline unsigned rc_hdr_pad16(const struct rc_hdr *h) { return rc_bits_pad16(h->bits); }
static inline unsigned rc_hdr_flags(const struct rc_hdr *h) { return rc_bits_flags(h->bits); }
static inline unsigned rc_hdr_state(const struct rc_hdr *h) { return rc_bits_state(h->bits); }
/* The tag is left 0: rc_set_bits (heap/heap.c) computes it. */
static inline uint64_t rc_hdr_pack(uint64_t size, unsigned pad16, unsigned flags, unsigned state)
{
  return (size << RC_SIZE_SHIFT) | ((uint64_t)(pad16 & RC_PAD_MASK) << RC_PAD_SHIFT) |
         ((uint64_t)(flags & RC_FLAGS_MASK) << RC_FLAGS_SHIFT) | (state & RC_STATE_MASK);
}
/* Where the user data starts. Pads of RC_PAD_ESC*16 and more are stored in word 2. */
static inline char *rc_hdr_user(const struct rc_hdr *h)
{
  unsigned p = rc_hdr_pad16(h);
  if (RC_UNLIKELY(p == RC_PAD_ESC)) return (char *)h + ((const uint64_t *)h)[2];
  return (char *)h + ((size_t)p << RC_GRANULE_SHIFT);
}
/* A 12-bit hash over the header's other fields and its address, kept in the
 * header: a buffer overflow that rewrites the header no longer matches it.
 * rc_hdr_tag_of: the tag of a header at address a whose first word (slot,
 * stack) is ids, for a writer that has them in registers. */
static inline uint64_t rc_hdr_tag_of(uintptr_t a, uint64_t ids, uint64_t bits)
{
  uint64_t x = (bits & ~RC_TAG_MASK) ^ ids ^ a;
  x *= 0x9e3779b97f4a7c15ull;
  return (x >> (64 - RC_TAG_BITS)) << RC_TAG_SHIFT;
}
static inline uint64_t rc_hdr_ids(uint32_t slot, uint32_t stack) { return (uint64_t)stack << 32 | slot; }
static inline uint64_t rc_hdr_tag(const struct rc_hdr *h, uint64_t bits)
{
  return rc_hdr_tag_of((uintptr_t)h, rc_hdr_ids(h->slot, h->stack), bits);
}
/* Does the header still match its tag? */
static inline bool rc_hdr_intact(const struct rc_hdr *h, uint64_t bits)
{ return (bits & RC_TAG_MASK) == rc_hdr_tag(h, bits); }

/* Slot table: slot -> header, so a check enumerates live blocks linearly, and
 * a header is ours only if its slot's entry points back at it. An entry is 32
 * bits: a window of 16 MiB of address space (RC_WIN_BITS, numbered on first
 * use, so the heap may lie anywhere but span at most RC_WIN_MAX - 1 windows)
 * and the 16-byte granule in it (RC_ENTRY_GRANULE_BITS); 0 is empty. */
#define RC_WIN_SHIFT 24                                  /* 16 MiB windows */
#define RC_WIN_BITS 12
#define RC_WIN_MAX (1u << RC_WIN_BITS)                   /* window 0 is none */
#define RC_WIN_PAGES (1u << (RC_WIN_SHIFT - RC_PAGE_SHIFT))   /* 4 KiB pages in a window */
#define RC_ENTRY_GRANULE_BITS (RC_WIN_SHIFT - RC_GRANULE_SHIFT)
#define RC_ENTRY_GRANULE_MASK ((1u << RC_ENTRY_GRANULE_BITS) - 1)
_Static_assert(RC_WIN_BITS + RC_ENTRY_GRANULE_BITS == 32, "a slot entry is 32 bits");
extern uint32_t *rc_slots;
extern uintptr_t rc_win_base[RC_WIN_MAX];
static inline struct rc_hdr *rc_slot_decode(uint32_t e)
{
  return e ? (struct rc_hdr *)(rc_win_base[e >> RC_ENTRY_GRANULE_BITS] +
                               ((uintptr_t)(e & RC_ENTRY_GRANULE_MASK) << RC_GRANULE_SHIFT))
           : NULL;
}
/* Slabs. Blocks up to 2 KiB (with their header) live in 64 KiB Boehm
 * objects of one size class each, so Boehm keeps one heap-block header per
 * 64 KiB instead of one per 4 KiB page. A slab owns a range of slots, one per
 * object, so an object's slot is its position and needs no entry in
 * rc_slots. Slots are handed out in groups of 32: rc_slot_slab says which
 * group belongs to which slab (0: slots of single blocks), rc_page_slab which
 * 4 KiB page does (by window and page in it). Objects are carved in address
 * order; past `carved` a slab's memory holds no header yet. Slabs are never
 * freed. */
#define RC_SLAB_BYTES (64u << 10)
#define RC_SLOT_GROUP 32u
struct rc_slab {
  uintptr_t base;      /* the first object's header */
  uint32_t first;      /* its slot */
  uint32_t carved;     /* objects with a header */
  uint32_t recip;      /* 2^32 / size + 1: offset -> object index without a division */
  uint16_t size;       /* bytes per object, header included */
  uint16_t nobj;
};
extern struct rc_slab *rc_slabs;   /* by id; id 0 is none */
extern uint32_t *rc_slot_slab;     /* slot / RC_SLOT_GROUP -> slab id */
extern uint32_t *rc_page_slab;     /* rc_page_index(window, address) -> slab id */
extern uint16_t *rc_win_of;        /* address >> RC_WIN_SHIFT -> window number, 0: none */

static inline const struct rc_slab *rc_slab_of_slot(uint32_t i)
{
  uint32_t id = __atomic_load_n(&rc_slot_slab[i / RC_SLOT_GROUP], __ATOMIC_ACQUIRE);
  return id ? &rc_slabs[id] : NULL;
}
/* Index of address a's 4 KiB page in tables by (window w, page in it). */
static inline size_t rc_page_index(uint32_t w, uintptr_t a)
{ return (size_t)w << (RC_WIN_SHIFT - RC_PAGE_SHIFT) | ((a >> RC_PAGE_SHIFT) & (RC_WIN_PAGES - 1)); }
/* The slab whose pages hold address a, or NULL. */
static inline const struct rc_slab *rc_slab_at(uintptr_t a)
{
  if (RC_UNLIKELY(rc_addr_high(a))) return NULL;
  uint32_t w = __atomic_load_n(&rc_win_of[a >> RC_WIN_SHIFT], __ATOMIC_RELAXED);
  if (!w) return NULL;
  uint32_t id = __atomic_load_n(&rc_page_slab[rc_page_index(w, a)], __ATOMIC_ACQUIRE);
  return id ? &rc_slabs[id] : NULL;
}
/* Index of the object of slab s that holds address a (a in its pages). */
static inline uint32_t rc_slab_index(const struct rc_slab *s, uintptr_t a)
{ return (uint32_t)(((uint64_t)(a - s->base) * s->recip) >> 32); }
/* Header of slab object k, NULL if it was never carved. */
static inline struct rc_hdr *rc_slab_obj(const struct rc_slab *s, uint32_t k)
{
  if (k >= __atomic_load_n(&s->carved, __ATOMIC_ACQUIRE)) return NULL;
  return (struct rc_hdr *)(s->base + (uintptr_t)k * s->size);
}
/* Header in slot i if there is one (tag not checked), else NULL. */
static inline struct rc_hdr *rc_slot_hdr(uint32_t i)
{
  const struct rc_slab *s = rc_slab_of_slot(i);
  if (s) return rc_slab_obj(s, i - s->first);
  return rc_slot_decode(__atomic_load_n(&rc_slots[i], __ATOMIC_ACQUIRE));
}
/* Where the header of a block holding address a would be, if a is in the
 * tracked heap: the slab object's, or the base of Boehm's object. NULL when
 * neither (not validated: see rc_block_of). */
static inline struct rc_hdr *rc_hdr_near(uintptr_t a)
{
  const struct rc_slab *s = rc_slab_at(a);
  if (s) return rc_slab_obj(s, rc_slab_index(s, a));
  return GC_base((void *)a);
}
extern uint64_t rc_corrupt_seen;   /* blocks found with a rewritten header */
extern uint32_t rc_slot_hwm;       /* slots below it have been handed out */
extern uintptr_t rc_heap_lo, rc_heap_hi;  /* bounds of every block ever served */

/* Header of the live, valid block whose user range contains `word`
 * ([user, user+size), or user itself for size 0), or NULL. No locks, no
 * allocation: usable with the world stopped. */
struct rc_hdr *rc_block_of(uintptr_t word);
/* Header of a live block whose user pointer is exactly p, else NULL. */
struct rc_hdr *rc_block_exact(const void *p);
/* Did malloc return p, not freed since (a tracked block, or one the arena
 * served: those are never freed)? */
bool rc_heap_owns(const void *p);
void rc_heap_init(void);
bool rc_heap_ready(void);
/* rc_in_runtime (base.h): while >0 this thread's allocations are served as
 * RC_F_INTERNAL blocks. */
extern RC_TLS int rc_disabled;     /* reachcheck_disable(): new blocks are ignored */
extern int rc_world_stopped;
/* Slots of live blocks that are roots themselves (RC_F_LDSO, RC_F_IGNORED),
 * a bit each: a check finds them without reading every header. */
extern uint64_t *rc_root_slots;
/* Take/drop every heap lock (slabs, slot pool, windows) around
 * stop-the-world and fork. */
void rc_heap_lock_all(void);
void rc_heap_unlock_all(void);
/* Boehm's allocator lock, around stop-the-world only (never across fork).
 * While it is held this thread must not allocate from Boehm. */
void rc_heap_lock_gc(void);
void rc_heap_unlock_gc(void);
void rc_heap_thread_exit(void);   /* flush this thread's cache */
void rc_heap_after_fork_child(void);
void rc_heap_set_flag(struct rc_hdr *h, unsigned flag, bool on);


/* Allocation epochs: scopes and snapshots compare them. */
extern uint32_t rc_epoch;
extern uint32_t *rc_slot_epoch;
uint32_t rc_epoch_advance(void);

/* What free or realloc found wrong with a pointer. The heap classifies, the
 * report layer prints (its hook, installed at start-up); until then a bad
 * free is one line without a stack. */
enum rc_bad_kind {
  RC_BAD_INVALID_FREE, RC_BAD_INVALID_REALLOC, RC_BAD_INTERIOR_FREE, RC_BAD_INTERIOR_REALLOC,
  RC_BAD_DOUBLE_FREE, RC_BAD_REALLOC_FREED, RC_BAD_CORRUPT, RC_BAD_COUNT
};
const char *rc_bad_kind_text(enum rc_bad_kind k);
typedef void (*rc_bad_hook)(enum rc_bad_kind kind, const void *p, uint32_t stack);
void rc_heap_set_bad_hook(rc_bad_hook fn);

/* Boehm growing the heap (hugepage.c): set while this thread is inside a
 * Boehm allocation of the heap's; the interposed mmap (scanners/mappings.c)
 * then maps through rc_heap_mmap, which returns what syscall(SYS_mmap, ...)
 * would: 2 MiB-aligned anonymous memory advised MADV_HUGEPAGE once the heap
 * passes the huge_pages option's MiB. */
extern RC_TLS int rc_heap_growing;
long rc_heap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
#endif
