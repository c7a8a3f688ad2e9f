/* The tracked heap: malloc and friends served from Boehm GC uncollectable
 * objects, each with a 16-byte header, a slot in a table for enumeration and
 * a per-thread cache of freed blocks in front of Boehm's global lock
 * (see ../shared/BOEHM.md for the measurements behind each choice). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc/gc.h>
#include "rc.h"
#include "profile/counters.h"

#define EXPORT __attribute__((visibility("default")))
#define NSMALL 129                /* cached classes: 16-byte granules up to 2 KiB, */
#define NLARGE 18                 /* then whole 4 KiB pages up to 64 KiB + header */
#define NCLS (NSMALL + NLARGE)
/* Freed large blocks (2 KiB to 68 KiB) a thread keeps, all classes
 * together: 16 MiB. Blocks handed back to Boehm do not come back to the
 * sizes asked for next, and its heap grows (GC_use_entire_heap does not
 * change that): the mixed-size churn of bench/alloc.c peaks at 51 MiB with
 * a 4 MiB budget, 39 MiB with 8 and 33 MiB with 16 (glibc: 39 MiB). The
 * cache is flushed to Boehm when the thread exits. */
#define LARGE_CACHE_PAGES 4096u

/* Cache class of a block of eff user bytes (eff > 0), NCLS if not cached;
 * *bytes: what to ask Boehm for. Boehm serves objects above 2 KiB as whole
 * 4 KiB heap blocks, so a large class is a page count. */
static inline size_t cache_class(size_t eff, size_t *bytes)
{
  size_t t = eff + RC_HDR_SIZE;
  if (t < eff) return NCLS;
  if (t <= (size_t)(NSMALL - 1) * 16) {
    *bytes = (t + 15) & ~(size_t)15;
    return (t + 15) >> 4;
  }
  size_t pages = (t + 4095) >> 12;
  *bytes = pages << 12;
  return pages < NLARGE ? NSMALL + pages : NCLS;
}

#define SLOT_RESERVE (1u << 27)   /* max live blocks: 128M */
#define TSLOTS 256                /* per-thread free-slot stack */

uint32_t *rc_slots;
uintptr_t rc_win_base[4096];
uint16_t *rc_win_of;   /* address >> RC_WIN_SHIFT -> window number, 0: none yet */
static uint64_t *win_pages;   /* per window, a bit per 4 KiB page that holds a header */
static GC_word gc_no_at_init;   /* Boehm's collection count once it is set up */
static uint32_t win_n = 1;
static int win_lock;
/* Slots of live blocks that are roots themselves (RC_F_LDSO, RC_F_IGNORED),
 * so a check finds them without reading every header. */
uint64_t *rc_root_slots;
uint64_t rc_corrupt_seen;
uint32_t *rc_slot_epoch;   /* epoch at allocation, by slot */
uint32_t rc_epoch = 1;

/* Epoch 1 lasts until the first scope or check_new: the array is only
 * written after that, so a program that never uses them never touches its
 * pages (4 bytes per block). Its untouched entries read 0, below any epoch a
 * scope can start, the same as the 1 they would hold. */
static inline void note_epoch(uint32_t slot)
{
  uint32_t e = __atomic_load_n(&rc_epoch, __ATOMIC_RELAXED);
  if (e != 1) rc_slot_epoch[slot] = e;
}
uint32_t rc_epoch_advance(void) { return __atomic_add_fetch(&rc_epoch, 1, __ATOMIC_ACQ_REL); }
/* Slots 0-31 are never used (0 means "none"), so that every range handed
 * out starts at a multiple of RC_SLOT_GROUP. */
uint32_t rc_slot_hwm = RC_SLOT_GROUP;
uintptr_t rc_heap_lo = UINTPTR_MAX, rc_heap_hi;
RC_TLS int rc_in_runtime;
RC_TLS int rc_disabled;

static int heap_state;           /* 0 none, 1 initialising, 2 ready */
static uint32_t *free_slots;     /* global pool of released slots */
static uint32_t free_slots_n;
static int pool_lock;

static RC_TLS void *cache_head[NCLS];
static RC_TLS uint16_t cache_n[NCLS];
static RC_TLS uint32_t cache_pages;   /* pages in this thread's large classes */

/* May a freed block of class cls join this thread's cache? Large classes
 * start at NSMALL + 1 page. */
static inline bool cache_room(size_t cls)
{
  if (cache_n[cls] >= rc_opt.thread_cache) return false;
  return cls <= NSMALL || cache_pages + (cls - NSMALL) <= LARGE_CACHE_PAGES;
}
/* Slabs (rc.h): every small class carves its objects from one slab at a
 * time; freed objects a thread's cache has no room for wait on a global list
 * per class. Both under slab_lock, which is taken before Boehm's lock (and
 * before win_lock), never after. */
#define MAX_SLABS (SLOT_RESERVE / RC_SLOT_GROUP)
struct rc_slab *rc_slabs;
uint32_t *rc_slot_slab;
uint32_t *rc_page_slab;
static uint32_t slab_n = 1;
static int slab_lock;
static uint32_t slab_cur[NSMALL];   /* by class: the slab being carved, 0 none */
static void *slab_free[NSMALL];     /* by class: freed objects (user pointers, linked by word 0) */

static RC_TLS uint32_t tslots[TSLOTS];
static RC_TLS uint32_t tslots_n;

static void spin_lock(int *l)
{
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(l, __ATOMIC_RELAXED)) __builtin_ia32_pause();
}
static void spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* ---- bootstrap arena: allocations made while GC_init runs (about 9, 35 KB),
 * by the checker while the world is stopped, and by signal handlers that
 * interrupted the allocator. Never freed, never scanned. Lock-free: a thread
 * stopped in the middle of arena_alloc must not block the checker. */
static char arena[1 << 20] __attribute__((aligned(16)));
static size_t arena_used;

/* Overflow chunks once the arena is full (handlers that allocate on the
 * checking thread during many checks fill it), remembered so that free,
 * realloc and malloc_usable_size still recognise their blocks. An entry is
 * published by its `hi` (release); readers skip entries with hi == 0. */
#define ARENA_EXTRA 256
static struct { uintptr_t lo, hi; } arena_extra[ARENA_EXTRA];
static unsigned arena_extra_n;

static bool in_arena(const void *p)
{
  if ((const char *)p >= arena && (const char *)p < arena + sizeof arena) return true;
  unsigned n = __atomic_load_n(&arena_extra_n, __ATOMIC_ACQUIRE);
  if (n > ARENA_EXTRA) n = ARENA_EXTRA;
  for (unsigned i = 0; i < n; i++) {
    uintptr_t hi = __atomic_load_n(&arena_extra[i].hi, __ATOMIC_ACQUIRE);
    if (hi && (uintptr_t)p >= arena_extra[i].lo && (uintptr_t)p < hi) return true;
  }
  return false;
}

static void *arena_alloc(size_t n, size_t align)
{
  if (align < 16) align = 16;
  size_t cur = __atomic_load_n(&arena_used, __ATOMIC_RELAXED), off;
  do {
    off = (cur + 16 + align - 1) & ~(align - 1);
    if (off + n > sizeof arena || off + n < off) break;
  } while (!__atomic_compare_exchange_n(&arena_used, &cur, off + n, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  if (off + n <= sizeof arena && off + n >= off) {
    ((size_t *)(arena + off))[-1] = n;
    return arena + off;
  }
  /* arena exhausted: plain pages, leaked on purpose, remembered */
  unsigned i = __atomic_fetch_add(&arena_extra_n, 1, __ATOMIC_ACQ_REL);
  if (i >= ARENA_EXTRA) return NULL;   /* could not be remembered: never hand it out */
  size_t len = n + align + 16;
  char *m = rc_mmap(len);
  if (!m) return NULL;
  void *r = (void *)(((uintptr_t)m + 16 + align - 1) & ~(align - 1));
  ((size_t *)r)[-1] = n;
  arena_extra[i].lo = (uintptr_t)m;
  __atomic_store_n(&arena_extra[i].hi, (uintptr_t)m + len, __ATOMIC_RELEASE);
  return r;
}

static void silent_warn(char *msg, GC_word arg) { (void)msg; (void)arg; }

void rc_heap_init(void)
{
  int expect = 0;
  if (!__atomic_compare_exchange_n(&heap_state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&heap_state, __ATOMIC_ACQUIRE) != 2) __builtin_ia32_pause();
    return;
  }
  rc_in_runtime++;
  rc_slots = rc_mmap(sizeof(uint32_t) * (size_t)SLOT_RESERVE);
  rc_win_of = rc_mmap(sizeof(uint16_t) << (47 - RC_WIN_SHIFT));
  win_pages = rc_mmap((size_t)4096 << (RC_WIN_SHIFT - 12 - 3));
  free_slots = rc_mmap(sizeof(uint32_t) * (size_t)SLOT_RESERVE);
  rc_slabs = rc_mmap(sizeof(struct rc_slab) * (size_t)MAX_SLABS);
  rc_slot_slab = rc_mmap(sizeof(uint32_t) * (size_t)MAX_SLABS);
  rc_page_slab = rc_mmap(sizeof(uint32_t) << (12 + RC_WIN_SHIFT - 12));
  rc_slot_epoch = rc_mmap(sizeof(uint32_t) * (size_t)SLOT_RESERVE);
  rc_root_slots = rc_mmap((size_t)SLOT_RESERVE / 8);
  if (!rc_slots || !rc_win_of || !win_pages || !free_slots || !rc_slot_epoch || !rc_root_slots ||
      !rc_slabs || !rc_slot_slab || !rc_page_slab) rc_die("cannot reserve the block table");
  /* Order from BOEHM.md: one marker (no parallel marker threads), keep
   * Boehm's fork handlers, init, disable collection, and allow thread
   * registration, without which Boehm takes no allocation lock at all. */
  rc_ldso_init();
  GC_set_markers_count(1);
  GC_set_handle_fork(1);
  GC_set_warn_proc(silent_warn);
  /* No collection at init: Boehm would mark from every module's data (it
   * never collects for us), ~300 page faults and 0.5 ms per process. */
  GC_set_dont_precollect(1);
  GC_init();
  GC_disable();
  gc_no_at_init = GC_get_gc_no();
  GC_allow_register_threads();
  rc_in_runtime--;
  __atomic_store_n(&heap_state, 2, __ATOMIC_RELEASE);
}

bool rc_heap_ready(void) { return __atomic_load_n(&heap_state, __ATOMIC_ACQUIRE) == 2; }

/* ---- slots ---- */
static uint32_t slot_get(void)
{
  if (RC_LIKELY(tslots_n)) return tslots[--tslots_n];
  spin_lock(&pool_lock);
  while (free_slots_n && tslots_n < TSLOTS / 2) tslots[tslots_n++] = free_slots[--free_slots_n];
  spin_unlock(&pool_lock);
  if (!tslots_n) {
    uint32_t base = __atomic_fetch_add(&rc_slot_hwm, 64, __ATOMIC_RELAXED);
    if (base + 64 >= SLOT_RESERVE) return 0;
    for (uint32_t i = 64; i-- > 0;) tslots[tslots_n++] = base + i;
  }
  return tslots[--tslots_n];
}

static void slot_put(uint32_t s)
{
  __atomic_store_n(&rc_slots[s], 0, __ATOMIC_RELEASE);
  if (RC_UNLIKELY(tslots_n == TSLOTS)) {
    spin_lock(&pool_lock);
    while (tslots_n > TSLOTS / 2) free_slots[free_slots_n++] = tslots[--tslots_n];
    spin_unlock(&pool_lock);
  }
  tslots[tslots_n++] = s;
}

/* The arena lock is not taken: the checker allocates from the arena while
 * the world is stopped. */
void rc_heap_lock_all(void)
{
  spin_lock(&slab_lock);
  spin_lock(&pool_lock);
  spin_lock(&win_lock);   /* never taken with pool_lock held elsewhere */
}
void rc_heap_unlock_all(void)
{
  spin_unlock(&win_lock);
  spin_unlock(&pool_lock);
  spin_unlock(&slab_lock);
}

/* Boehm's allocator lock, held while the world is stopped: a thread stopped
 * inside GC_malloc or GC_free may leave a block header half-written, and
 * GC_base on it divides by a zero object size (SIGFPE). Not part of
 * rc_heap_lock_all: Boehm's own fork handler takes it (not reentrant). */
void rc_heap_lock_gc(void) { GC_alloc_lock(); }
void rc_heap_unlock_gc(void) { GC_alloc_unlock(); }

void rc_heap_after_fork_child(void)
{
  /* The forking thread's caches are intact; other threads' cached blocks are
   * marked freed and simply stay with Boehm. Locks were held across fork. */
  rc_heap_unlock_all();
}

static void note_bounds(uintptr_t lo, uintptr_t hi)
{
  uintptr_t cur = __atomic_load_n(&rc_heap_lo, __ATOMIC_RELAXED);
  while (lo < cur && !__atomic_compare_exchange_n(&rc_heap_lo, &cur, lo, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
  cur = __atomic_load_n(&rc_heap_hi, __ATOMIC_RELAXED);
  while (hi > cur && !__atomic_compare_exchange_n(&rc_heap_hi, &cur, hi, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
}

/* The window of address a, numbered on first use; 0 when all 4095 are
 * taken (the heap spans more than 64 GiB of windows). */
static uint32_t win_get(uintptr_t a)
{
  if (RC_UNLIKELY(a >> 47)) return 0;   /* 5-level paging's upper half: not in the table */
  uintptr_t k = a >> RC_WIN_SHIFT;
  uint32_t w = __atomic_load_n(&rc_win_of[k], __ATOMIC_ACQUIRE);
  if (RC_LIKELY(w)) return w;
  spin_lock(&win_lock);
  w = rc_win_of[k];
  if (!w && win_n < 4096) {
    w = win_n++;
    rc_win_base[w] = k << RC_WIN_SHIFT;
    __atomic_store_n(&rc_win_of[k], (uint16_t)w, __ATOMIC_RELEASE);
  }
  spin_unlock(&win_lock);
  return w;
}

/* Pages that have held a header: Boehm never unmaps them while it does not
 * collect, so free can read the 16 bytes in front of a pointer there. */
static inline uint64_t *page_word(uint32_t w, uintptr_t a, uint64_t *bit)
{
  size_t i = rc_page_index(w, a);
  *bit = 1ull << (i & 63);
  return &win_pages[i >> 6];
}
static inline void note_page(uint32_t w, uintptr_t a)
{
  uint64_t bit, *wd = page_word(w, a, &bit);
  if (!(__atomic_load_n(wd, __ATOMIC_RELAXED) & bit)) __atomic_fetch_or(wd, bit, __ATOMIC_RELAXED);
}

static inline uint32_t slot_entry(const struct rc_hdr *h)
{
  uintptr_t a = (uintptr_t)h;
  return rc_win_of[a >> RC_WIN_SHIFT] << 20 | (uint32_t)((a >> 4) & 0xfffff);
}

/* Store a header's bits with their tag, and point its slot entry at it
 * (the header's window was numbered when the block was allocated). */
static void set_bits(struct rc_hdr *h, uint64_t bits)
{
  bits = (bits & ~RC_TAG_MASK) | rc_hdr_tag(h, bits);
  __atomic_store_n(&h->bits, bits, __ATOMIC_RELEASE);
  uint64_t *w = &rc_root_slots[h->slot >> 6], b = 1ull << (h->slot & 63);
  bool root = (bits & 0xf) == RC_LIVE && ((bits >> 4) & (RC_F_LDSO | RC_F_IGNORED));
  if (RC_UNLIKELY(root != !!(__atomic_load_n(w, __ATOMIC_RELAXED) & b))) {
    if (root) __atomic_fetch_or(w, b, __ATOMIC_RELEASE);
    else __atomic_fetch_and(w, ~b, __ATOMIC_RELEASE);
  }
  if (!rc_slab_of_slot(h->slot)) __atomic_store_n(&rc_slots[h->slot], slot_entry(h), __ATOMIC_RELEASE);
}

/* ---- lookup ---- */
enum { HDR_OK, HDR_NOT_OURS, HDR_CORRUPT };

/* Is base the header of a live block? A header whose slot entry points back
 * at it but whose tag does not match its fields was overwritten: HDR_CORRUPT. */
static int hdr_check(const struct rc_hdr *h)
{
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  uint32_t s = h->slot;
  if (s == 0 || s >= __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED)) return HDR_NOT_OURS;
  if (rc_slot_hdr(s) != h) return HDR_NOT_OURS;
  if (!rc_hdr_intact(h, bits)) return HDR_CORRUPT;
  return (bits & 0xf) == RC_LIVE ? HDR_OK : HDR_NOT_OURS;
}

static struct rc_hdr *valid_hdr(void *base)
{
  return hdr_check(base) == HDR_OK ? base : NULL;
}

struct rc_hdr *rc_block_of(uintptr_t w)
{
  if (w < rc_heap_lo || w >= rc_heap_hi) return NULL;
  void *base = rc_hdr_near(w);
  if (!base) return NULL;
  struct rc_hdr *h = valid_hdr(base);
  if (!h || (rc_hdr_flags(h) & RC_F_INTERNAL)) return NULL;
  uintptr_t u = (uintptr_t)rc_hdr_user(h), sz = rc_hdr_size(h);
  if (w < u) return NULL;
  if (w - u < sz || (sz == 0 && w == u)) return h;
  return NULL;
}

struct rc_hdr *rc_block_exact(const void *p)
{
  if (!p || in_arena(p)) return NULL;
  void *base = rc_hdr_near((uintptr_t)p);
  if (!base) return NULL;
  struct rc_hdr *h = valid_hdr(base);
  return h && rc_hdr_user(h) == p ? h : NULL;
}

/* ---- slabs ---- */

/* A new slab for class cls (objects of cls * 16 bytes), its pages and slots
 * registered; 0 when Boehm or the tables are out of room (the caller then
 * serves the block as its own Boehm object). slab_lock is held. */
static uint32_t slab_new(size_t cls)
{
  /* Boehm serves an object of more than 2 KiB as whole, page-aligned heap
   * blocks and adds one byte of slop for pointers just past the end:
   * 64 KiB - 1 takes exactly 16 pages. */
  char *mem = GC_malloc_atomic_uncollectable(RC_SLAB_BYTES - 1);
  if (!mem) return 0;
  uintptr_t a = (uintptr_t)mem;
  uint32_t w0 = win_get(a), w1 = win_get(a + RC_SLAB_BYTES - 1);
  uint32_t size = (uint32_t)cls * 16, nobj = RC_SLAB_BYTES / size;
  uint32_t nslots = (nobj + RC_SLOT_GROUP - 1) & ~(RC_SLOT_GROUP - 1);
  uint32_t id = slab_n;
  if ((a & 4095) || GC_size(mem) < RC_SLAB_BYTES || !w0 || !w1 || id >= MAX_SLABS) {
    GC_free(mem);
    return 0;
  }
  uint32_t first = __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED);
  do {
    if (first + nslots >= SLOT_RESERVE) { GC_free(mem); return 0; }
  } while (!__atomic_compare_exchange_n(&rc_slot_hwm, &first, first + nslots, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  slab_n++;
  struct rc_slab *s = &rc_slabs[id];
  s->base = a;
  s->first = first;
  s->carved = 0;
  s->size = (uint16_t)size;
  s->nobj = (uint16_t)nobj;
  s->recip = (uint32_t)((1ull << 32) / size + 1);
  for (uint32_t g = 0; g < nslots / RC_SLOT_GROUP; g++)
    __atomic_store_n(&rc_slot_slab[first / RC_SLOT_GROUP + g], id, __ATOMIC_RELEASE);
  for (uintptr_t pg = a; pg < a + RC_SLAB_BYTES; pg += 4096) {
    uint32_t w = pg >> RC_WIN_SHIFT == a >> RC_WIN_SHIFT ? w0 : w1;
    __atomic_store_n(&rc_page_slab[rc_page_index(w, pg)], id, __ATOMIC_RELEASE);
    note_page(w, pg);
  }
  note_bounds(a, a + RC_SLAB_BYTES);
  return id;
}

/* Put up to `want` objects of small class cls into this thread's cache:
 * freed ones from the class's list first, then new ones carved from its
 * slab (their header: slot, state FREED). Returns how many. */
static unsigned slab_refill(size_t cls, unsigned want)
{
  unsigned n = 0;
  spin_lock(&slab_lock);
  while (n < want && slab_free[cls]) {
    void *user = slab_free[cls];
    slab_free[cls] = *(void **)user;
    *(void **)user = cache_head[cls];
    cache_head[cls] = user;
    n++;
  }
  while (n < want) {
    uint32_t id = slab_cur[cls];
    if (!id || rc_slabs[id].carved == rc_slabs[id].nobj) {
      id = slab_new(cls);
      if (!id) break;
      slab_cur[cls] = id;
    }
    struct rc_slab *s = &rc_slabs[id];
    /* Pushed from the last, so that they are handed out in address order:
     * objects allocated one after the other lie one after the other. A
     * program that walks them in that order (python3's cyclic collector
     * walks its objects so) pays for a sawtooth of descending 4 KiB runs:
     * bench/run's python3 script under PYTHONMALLOC=malloc took 2.4 s
     * instead of 1.95 (plain: 1.3). */
    uint32_t c = s->nobj - s->carved;
    if (c > want - n) c = want - n;
    for (uint32_t j = c; j-- > 0;) {
      uint32_t k = s->carved + j;
      struct rc_hdr *h = (struct rc_hdr *)(s->base + (uintptr_t)k * s->size);
      h->slot = s->first + k;
      h->stack = 0;
      uint64_t bits = rc_hdr_pack(0, 1, 0, RC_FREED);
      h->bits = bits | rc_hdr_tag(h, bits);
      char *user = (char *)h + RC_HDR_SIZE;
      *(void **)user = cache_head[cls];
      cache_head[cls] = user;
    }
    __atomic_store_n(&s->carved, s->carved + c, __ATOMIC_RELEASE);
    n += c;
  }
  spin_unlock(&slab_lock);
  cache_n[cls] += (uint16_t)n;
  return n;
}

/* Hand the freed slab objects user..last (linked by word 0, n of them) of
 * class cls to the class's list. */
static void slab_put(size_t cls, void *user, void *last)
{
  spin_lock(&slab_lock);
  *(void **)last = slab_free[cls];
  slab_free[cls] = user;
  spin_unlock(&slab_lock);
}

/* How many objects a refill takes: about 4 KiB worth, at most 32, never
 * more than the cache keeps. */
static inline unsigned refill_count(size_t cls)
{
  unsigned n = (unsigned)(4096 / (cls * 16));
  if (n > 32) n = 32;
  if (n > (unsigned)rc_opt.thread_cache) n = (unsigned)rc_opt.thread_cache;
  return n ? n : 1;
}

/* User bytes a block can grow to in place. */
static size_t block_cap(const struct rc_hdr *h)
{
  const struct rc_slab *s = rc_slab_of_slot(h->slot);
  return (s ? s->size : GC_size((void *)h)) - RC_HDR_SIZE;
}

/* ---- allocation ---- */


/* Set while this thread is inside the allocator proper (thread cache, slot
 * pool, depot lock, Boehm's lock). A malloc that arrives while it is set
 * comes from a signal handler that interrupted us: it is served from the
 * arena, untracked, instead of deadlocking on a lock this thread holds. */
static RC_TLS int in_critical;

static void *alloc_block_locked(size_t size, size_t align, const struct rc_at *at, bool *fresh);
static void *alloc_block(size_t size, size_t align, const struct rc_at *at, bool *fresh)
{
  in_critical++;
  void *p = alloc_block_locked(size, align, at, fresh);
  in_critical--;
  return p;
}

/* *fresh: in, the caller wants zeroed memory (calloc); out, the block came
 * zeroed from Boehm. Plain malloc takes Boehm's atomic kind, which Boehm
 * neither clears nor scans (reachcheck scans blocks itself; BOEHM.md: ~20%
 * faster); calloc takes the cleared kind, so fresh pages are not touched. */
static void *alloc_block_locked(size_t size, size_t align, const struct rc_at *at, bool *fresh)
{
  if (RC_UNLIKELY(size > RC_MAX_SIZE)) { errno = ENOMEM; return NULL; }
  if (RC_UNLIKELY(!rc_heap_ready())) rc_heap_init();
  unsigned flags = rc_in_runtime ? RC_F_INTERNAL : (rc_disabled ? RC_F_IGNORED : 0);
  uint32_t stack = 0;
  if (!flags) {
    rc_in_runtime++;
    stack = rc_depot_capture(at);
    if (rc_opt.scan_libc && rc_pc_in_ldso(at->fp[1])) flags |= RC_F_LDSO;
    rc_in_runtime--;
  }
  size_t eff = size ? size : 1;   /* malloc(0): keep the user pointer inside our object */
  char *base;
  unsigned pad16 = 1;
  uint32_t slot = 0;
  if (align <= 16) {
    size_t want = 0;
    size_t cls = cache_class(eff, &want);
    /* A small class with an empty cache refills it from its slab. */
    if (cls < NCLS && (cache_head[cls] || (cls < NSMALL && slab_refill(cls, refill_count(cls))))) {
      char *user = cache_head[cls];
      cache_head[cls] = *(void **)user;
      /* The cache's link must not survive in the new block: malloc does not
       * clear memory, and a stale raw pointer to another cached block (which
       * may become a leak later) would keep it reachable. glibc mangles its
       * tcache links for the same reason (safe-linking). */
      *(void **)user = NULL;
      cache_n[cls]--;
      if (cls > NSMALL) cache_pages -= (uint32_t)(cls - NSMALL);
      base = user - RC_HDR_SIZE;
      struct rc_hdr *h = (struct rc_hdr *)base;
      h->stack = stack;
      note_epoch(h->slot);
      set_bits(h, rc_hdr_pack(size, 1, flags, RC_LIVE));
      *fresh = false;
      if (stack) rc_count_alloc(stack, size);   /* issue 13: core/profile/counters.h */
      return user;
    }
    size_t ask = cls < NCLS ? want : eff + RC_HDR_SIZE;
    base = *fresh ? GC_malloc_uncollectable(ask) : GC_malloc_atomic_uncollectable(ask);
  } else {
    if (eff + align + RC_HDR_SIZE < eff) { errno = ENOMEM; return NULL; }
    base = *fresh ? GC_malloc_uncollectable(eff + align + RC_HDR_SIZE)
                  : GC_malloc_atomic_uncollectable(eff + align + RC_HDR_SIZE);
  }
  if (RC_UNLIKELY(!base)) { errno = ENOMEM; return NULL; }
  char *user = base + RC_HDR_SIZE;
  if (align > 16) {
    user = (char *)(((uintptr_t)base + RC_HDR_SIZE + align - 1) & ~(uintptr_t)(align - 1));
    size_t pad = (size_t)(user - base);
    pad16 = pad / 16 < RC_PAD_ESC ? (unsigned)(pad / 16) : RC_PAD_ESC;
    if (pad16 == RC_PAD_ESC) ((uint64_t *)base)[2] = pad;
  }
  uint32_t win = win_get((uintptr_t)base);
  if (RC_UNLIKELY(!win)) {
    GC_free(base);
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
      rc_log("the tracked heap does not fit the block table (more than 4095 windows of 16 MiB, or memory above 2^47): allocations there fail with ENOMEM");
    errno = ENOMEM;
    return NULL;
  }
  note_page(win, (uintptr_t)base);
  slot = slot_get();
  if (RC_UNLIKELY(!slot)) { GC_free(base); errno = ENOMEM; return NULL; }
  struct rc_hdr *h = (struct rc_hdr *)base;
  h->slot = slot;
  h->stack = stack;
  note_epoch(slot);
  note_bounds((uintptr_t)user, (uintptr_t)user + eff);
  set_bits(h, rc_hdr_pack(size, pad16, flags, RC_LIVE));
  if (stack) rc_count_alloc(stack, size);   /* issue 13: core/profile/counters.h */
  return user;
}

static void release_block_locked(struct rc_hdr *h);
static void release_block(struct rc_hdr *h)
{
  in_critical++;
  release_block_locked(h);
  in_critical--;
}

/* Give a block back to Boehm. Boehm does not clear atomic objects on
 * GC_free, so zero the state word: a later free of the same pointer then
 * reads as a double free, not as an overwritten header. */
/* Blocks from this size on give their pages back to the kernel when they
 * go back to Boehm: Boehm (collection disabled) never unmaps, and does not
 * always reuse a freed large block for the next large request, where glibc
 * unmaps or trims. The pages come back zero-filled on reuse. */
#define RELEASE_PAGES_FROM (128u << 10)

/* Stale pointers. malloc hands out memory uncleared, and a conservative
 * scan reads every byte of a block, also the bytes its new owner never
 * wrote: an old pointer left there keeps a block that has since leaked
 * "reachable". (gdb: the freed buffers of a grown std::vector<char *> came
 * back as obstack chunks, which write only their 16-byte header, and kept 254
 * leaked strings alive.) So freed blocks up to 4 KiB (nodes, small vectors,
 * obstack chunks: where pointers live) are cleared before they can be served
 * again, and the whole pages of blocks from 128 KiB on go back to the
 * kernel. Blocks in between are not cleared: on the mixed-size churn of
 * bench/alloc.c, reading them for pointer words made it 5x slower; clearing
 * up to 4 KiB costs 10-25%. Boehm clears freed objects of its scanned kinds
 * for the same reason. */
#define SCRUB_UPTO 4096u

static void scrub(uintptr_t lo, uintptr_t hi)
{
  if (rc_opt.scrub_freed && hi > lo && hi - lo <= SCRUB_UPTO) memset((void *)lo, 0, hi - lo);
}

static void to_boehm(struct rc_hdr *h)
{
  uint64_t size = rc_hdr_size(h);
  if (RC_UNLIKELY(size >= RELEASE_PAGES_FROM)) {
    uintptr_t u = (uintptr_t)rc_hdr_user(h);   /* before the pages go: a big pad is in word 2 */
    uintptr_t lo = ((uintptr_t)h + RC_HDR_SIZE + 4095) & ~(uintptr_t)4095;
    uintptr_t hi = ((uintptr_t)h + GC_size(h)) & ~(uintptr_t)4095;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    scrub(u, lo);   /* the partial pages at both ends */
    if (hi > lo && hi < u + size) scrub(hi, u + size);
  }
  slot_put(h->slot);
  __atomic_store_n(&h->bits, 0, __ATOMIC_RELEASE);
  /* A thread-cache link in the first user word would survive into the next
   * atomic object Boehm serves from this memory: the checker's own stale
   * copy of a pointer. */
  *(void **)((char *)h + RC_HDR_SIZE) = NULL;
  GC_free(h);
}

/* A freed block that leaves this thread: slab objects to their class's
 * list, other blocks to Boehm. */
static void give_back(struct rc_hdr *h)
{
  const struct rc_slab *sl = rc_slab_of_slot(h->slot);
  if (!sl) {
    to_boehm(h);
    return;
  }
  char *user = (char *)h + RC_HDR_SIZE;
  slab_put(sl->size >> 4, user, user);
}

static void release_block_locked(struct rc_hdr *h)
{
  uint64_t size = rc_hdr_size(h);
  unsigned pad16 = rc_hdr_pad16(h);
  if (h->stack) rc_count_free(h->stack, size);   /* issue 13: core/profile/counters.h */
  set_bits(h, rc_hdr_pack(size, pad16, 0, RC_FREED));
  if (size < RELEASE_PAGES_FROM) {   /* larger: to_boehm */
    uintptr_t u = (uintptr_t)rc_hdr_user(h);
    scrub(u, u + size);
  }
  /* A slab object's class is its slab's (realloc may have shrunk it). */
  const struct rc_slab *sl = rc_slab_of_slot(h->slot);
  size_t want, cls = sl ? (size_t)(sl->size >> 4) : pad16 == 1 ? cache_class(size ? size : 1, &want) : NCLS;
  if (cls >= NCLS || rc_opt.thread_cache <= 0) {
    give_back(h);
    return;
  }
  char *user = (char *)h + RC_HDR_SIZE;
  if (cache_room(cls)) {
    *(void **)user = cache_head[cls];
    cache_head[cls] = user;
    cache_n[cls]++;
    if (cls > NSMALL) cache_pages += (uint32_t)(cls - NSMALL);
    return;
  }
  if (!sl) {
    to_boehm(h);
    return;
  }
  /* The class's cache is full: this object and the newer half of the cache
   * go to the class's list under one lock. */
  unsigned k = cache_n[cls] / 2;
  void *last = user;
  *(void **)user = cache_head[cls];
  for (unsigned i = 0; i < k; i++) last = *(void **)last;
  cache_head[cls] = *(void **)last;
  cache_n[cls] -= (uint16_t)k;
  slab_put(cls, user, last);
}

void rc_heap_thread_exit(void)
{
  in_critical++;   /* a handler that mallocs now must not wait for slab_lock or pool_lock */
  for (int c = 0; c < NCLS; c++) {
    while (cache_head[c]) {
      char *user = cache_head[c];
      cache_head[c] = *(void **)user;
      give_back((struct rc_hdr *)(user - RC_HDR_SIZE));
    }
    cache_n[c] = 0;
  }
  cache_pages = 0;
  spin_lock(&pool_lock);
  while (tslots_n) free_slots[free_slots_n++] = tslots[--tslots_n];
  spin_unlock(&pool_lock);
  in_critical--;
}

/* Classify a pointer handed to free/realloc. Returns the header or NULL after
 * reporting what is wrong with p. */
/* Does any slot entry point at h? Only on the bad-free path (O(slots)): a
 * header zeroed by an overflow looks like one GC_free zeroed, but a freed
 * block's slot entry was cleared before GC_free. */
static bool slot_points_at(const struct rc_hdr *h)
{
  uint32_t n = __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED);
  for (uint32_t i = 1; i < n; i++)
    if (rc_slot_hdr(i) == h) return true;
  return false;
}

/* free's common case without GC_base: p is a block's user pointer right
 * behind its header, on a page that has held headers, and Boehm has never
 * collected (a program that runs Boehm's collector itself may have had it
 * unmap free pages). Anything else takes the full classification below. */
static inline struct rc_hdr *fast_hdr(const void *p)
{
  uintptr_t a = (uintptr_t)p - RC_HDR_SIZE;
  if (a & 15 || a < rc_heap_lo - RC_HDR_SIZE || a >= rc_heap_hi) return NULL;
  uint32_t w = __atomic_load_n(&rc_win_of[a >> RC_WIN_SHIFT], __ATOMIC_RELAXED);
  uint64_t bit;
  if (!w || !(__atomic_load_n(page_word(w, a, &bit), __ATOMIC_RELAXED) & bit) || GC_get_gc_no() != gc_no_at_init) return NULL;
  struct rc_hdr *h = (struct rc_hdr *)a;
  return hdr_check(h) == HDR_OK && rc_hdr_pad16(h) == 1 ? h : NULL;
}

static struct rc_hdr *checked_hdr(const void *p, bool is_free, const struct rc_at *at)
{
  struct rc_hdr *fh = fast_hdr(p);
  if (RC_LIKELY(fh)) return fh;
  static const char corrupt[] = "heap corruption: the header in front of this block was overwritten (buffer "
                                "overflow from the block before it?); the block is left alone";
  const char *what = is_free ? "invalid free: the pointer was never allocated"
                             : "invalid realloc: the pointer was never allocated";
  void *base = rc_hdr_near((uintptr_t)p);
  if (base) {
    struct rc_hdr *h = base;
    int st = hdr_check(h);
    uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
    if (st == HDR_OK && rc_hdr_user(h) == p) return h;
    if (st == HDR_OK) what = is_free ? "free of an interior pointer" : "realloc of an interior pointer";
    else if (st == HDR_CORRUPT) what = corrupt;
    /* GC_free zeroes every word but the first; a cached block is FREED. A
     * zeroed header that a slot still points at was zeroed by an overflow. */
    else if (bits == 0 && slot_points_at(h)) what = corrupt;
    else if (bits == 0 || (rc_hdr_state(h) == RC_FREED && h->slot < rc_slot_hwm && rc_slot_hdr(h->slot) == h))
      what = is_free ? "double free" : "realloc of freed memory";
    else if ((const char *)p == (const char *)base + RC_HDR_SIZE) what = corrupt;
  } else if (!rc_slab_at((uintptr_t)p) && GC_is_heap_ptr(p) && ((uintptr_t)p & 4095) == RC_HDR_SIZE) {
    /* A freed large block: Boehm returned its pages to the free block list,
     * so GC_base no longer finds it, but the memory is still its heap. */
    what = is_free ? "double free" : "realloc of freed memory";
  }
  if (what == corrupt) __atomic_fetch_add(&rc_corrupt_seen, 1, __ATOMIC_RELAXED);
  rc_in_runtime++;
  rc_report_bad(what, p, rc_depot_capture(at));
  rc_in_runtime--;
  return NULL;
}

static void *do_alloc(size_t n, size_t align, const struct rc_at *at)
{
  bool fresh = false;
  if (RC_UNLIKELY(rc_in_runtime | in_critical) && (!rc_heap_ready() || rc_world_stopped || in_critical))
    return arena_alloc(n, align);
  return alloc_block(n, align, at, &fresh);
}

/* Each entry point records the program's frame (RC_AT_HERE): the stack is
 * walked from there, never through the runtime's own frames. */
EXPORT void *malloc(size_t n)
{
  RC_AT_HERE(at);
  return do_alloc(n, 16, &at);
}

EXPORT void free(void *p)
{
  if (!p || in_arena(p)) return;
  if (RC_UNLIKELY(!rc_heap_ready())) rc_heap_init();
  if (RC_UNLIKELY(in_critical)) {  /* from a signal handler inside the allocator */
    struct rc_hdr *x = rc_block_exact(p);
    if (x && x->stack) rc_count_free_async(x->stack, rc_hdr_size(x));   /* issue 13 */
    if (x) set_bits(x, rc_hdr_pack(rc_hdr_size(x), rc_hdr_pad16(x), 0, RC_FREED));
    return;
  }
  RC_AT_HERE(at);
  struct rc_hdr *h = checked_hdr(p, true, &at);
  if (h) release_block(h);
}

EXPORT void *calloc(size_t n, size_t m)
{
  size_t t;
  if (__builtin_mul_overflow(n, m, &t)) { errno = ENOMEM; return NULL; }
  if (RC_UNLIKELY(rc_in_runtime | in_critical) && (!rc_heap_ready() || rc_world_stopped || in_critical))
    return arena_alloc(t, 16);  /* never reused: zero */
  bool fresh = true;
  RC_AT_HERE(at);
  void *p = alloc_block(t, 16, &at, &fresh);
  if (p && !fresh) memset(p, 0, t);
  return p;
}

static void *do_realloc(void *p, size_t n, const struct rc_at *at)
{
  if (!p) return do_alloc(n, 16, at);
  if (in_arena(p)) {
    size_t old = ((size_t *)p)[-1];
    void *q = do_alloc(n, 16, at);
    if (q) memcpy(q, p, old < n ? old : n);
    return q;
  }
  if (RC_UNLIKELY(!rc_heap_ready())) rc_heap_init();
  if (RC_UNLIKELY(in_critical)) {  /* from a signal handler inside the allocator */
    struct rc_hdr *x = rc_block_exact(p);
    void *q = arena_alloc(n, 16);
    if (x && q) {
      size_t old = rc_hdr_size(x);
      memcpy(q, p, old < n ? old : n);
      if (x->stack) rc_count_free_async(x->stack, old);   /* issue 13 */
      set_bits(x, rc_hdr_pack(old, rc_hdr_pad16(x), 0, RC_FREED));
    }
    return q;
  }
  if (n == 0) {  /* glibc: realloc(p, 0) frees p and returns NULL */
    free(p);
    return NULL;
  }
  struct rc_hdr *h = checked_hdr(p, false, at);
  if (!h) return do_alloc(n, 16, at);
  size_t old = rc_hdr_size(h);
  if (rc_hdr_pad16(h) == 1 && n <= RC_MAX_SIZE) {
    size_t cap = block_cap(h);
    if (n <= cap && n >= cap / 2) {
      unsigned flags = rc_hdr_flags(h) & ~(unsigned)RC_F_REPORTED;
      if (!rc_in_runtime) {
        rc_in_runtime++;
        in_critical++;   /* issue 13: counted as a free and an allocation */
        if (h->stack) rc_count_free(h->stack, old);
        in_critical--;
        h->stack = rc_depot_capture(at);
        in_critical++;
        if (h->stack) rc_count_alloc(h->stack, n);
        in_critical--;
        rc_in_runtime--;
      }
      note_epoch(h->slot);
      note_bounds((uintptr_t)p, (uintptr_t)p + n);
      if (n < old) scrub((uintptr_t)p + n, (uintptr_t)p + old);   /* the cut-off tail */
      set_bits(h, rc_hdr_pack(n, 1, flags, RC_LIVE));
      return p;
    }
  }
  void *q = do_alloc(n, 16, at);
  if (!q) return NULL;  /* p stays valid, as in glibc */
  memcpy(q, p, old < n ? old : n);
  release_block(h);
  return q;
}

EXPORT void *realloc(void *p, size_t n)
{
  RC_AT_HERE(at);
  return do_realloc(p, n, &at);
}

EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
  size_t t;
  if (__builtin_mul_overflow(n, m, &t)) { errno = ENOMEM; return NULL; }
  RC_AT_HERE(at);
  return do_realloc(p, t, &at);
}

static bool pow2(size_t a) { return a && !(a & (a - 1)); }

EXPORT void *memalign(size_t align, size_t n)
{
  if (!pow2(align)) { errno = EINVAL; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(n, align, &at);
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
  if (!pow2(align)) { errno = EINVAL; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(n, align, &at);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
  if (!pow2(align) || align % sizeof(void *)) return EINVAL;
  int e = errno;
  RC_AT_HERE(at);
  void *p = do_alloc(n, align, &at);
  if (!p) { errno = e; return ENOMEM; }
  *out = p;
  return 0;
}

EXPORT void *valloc(size_t n)
{
  RC_AT_HERE(at);
  return do_alloc(n, (size_t)sysconf(_SC_PAGESIZE), &at);
}

EXPORT void *pvalloc(size_t n)
{
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t r = (n + pg - 1) & ~(pg - 1);
  if (r < n) { errno = ENOMEM; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(r ? r : pg, pg, &at);
}

/* The requested size, not Boehm's rounded one: bytes past it are not scanned. */
EXPORT size_t malloc_usable_size(void *p)
{
  if (!p) return 0;
  if (in_arena(p)) return ((size_t *)p)[-1];
  struct rc_hdr *h = rc_block_exact(p);
  return h ? rc_hdr_size(h) : 0;
}

/* ---- internal helpers for the public API ---- */
void rc_heap_set_flag(struct rc_hdr *h, unsigned flag, bool on)
{
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  unsigned f = rc_hdr_flags(h);
  f = on ? (f | flag) : (f & ~flag);
  set_bits(h, rc_hdr_pack(bits >> 28, (unsigned)(bits >> 8) & 0xff, f, (unsigned)bits & 0xf));
}
