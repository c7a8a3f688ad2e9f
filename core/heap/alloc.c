/* Allocation and release: a block's header, slot and stack, served from the
 * per-thread cache of freed blocks in front of Boehm's global lock (slab
 * objects refill it from their class's slab), and freed blocks cleared and
 * given back to the cache, their class's list or Boehm. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>
#include "heap/heap_internal.h"

/* Freed large blocks (2 KiB to 68 KiB) a thread keeps, all classes
 * together: 16 MiB. Blocks handed back to Boehm do not come back to the
 * sizes asked for next, and its heap grows (GC_use_entire_heap does not
 * change that): the mixed-size churn of bench/alloc.c peaks at 51 MiB with
 * a 4 MiB budget, 39 MiB with 8 and 33 MiB with 16 (glibc: 39 MiB). The
 * cache is flushed to Boehm when the thread exits. */
#define LARGE_CACHE_PAGES 4096u

/* Blocks from this size on give their pages back to the kernel when they
 * go back to Boehm: Boehm (collection disabled) never unmaps, and does not
 * always reuse a freed large block for the next large request, where glibc
 * unmaps or trims. The pages come back zero-filled on reuse. */
#define RELEASE_PAGES_FROM (2u << 20)
/* Freed blocks from this size up to RELEASE_PAGES_FROM are cleared where
 * their pages are resident (clear_resident) and keep them, as glibc keeps
 * freed memory below its mmap threshold (which grows to 32 MiB as large
 * blocks are freed). Giving their pages back instead (from 128 KiB on, the
 * previous policy) made every reuse fault them in again: python3 growing
 * lists and dicts by realloc took 45k page faults instead of 5k, and
 * bench/run's python3 rows 1.61 s instead of 1.17 (PYTHONMALLOC=malloc:
 * 2.13 instead of 1.81), at +9 MiB of peak RSS. */
#define CLEAR_FROM (128u << 10)

RC_TLS int rc_in_critical;
/* The thread's cache, one TLS object with the thread's counters (rc_hot,
 * stack/counters.h): a shared library's initial-exec TLS costs a GOT load
 * and a register per variable, and free's common path had too few
 * registers left for three. */
struct heap_cache {
  void *head[NCLS];    /* each class's list, linked through the first word */
  uint16_t n[NCLS];    /* its length */
  uint16_t pages;      /* pages in the large classes (at most LARGE_CACHE_PAGES) */
};
_Static_assert(sizeof(struct heap_cache) <= RC_HEAP_TLS_BYTES, "the cache fits its room in rc_hot");
#define cache (*(struct heap_cache *)(void *)rc_hot.heap.bytes)
_Static_assert(LARGE_CACHE_PAGES <= UINT16_MAX, "cache.pages is 16 bits");

/* Cache class of a block of eff user bytes (eff > 0), NCLS if not cached;
 * *bytes: what to ask Boehm for. Boehm serves objects above 2 KiB as whole
 * 4 KiB heap blocks, so a large class is a page count. */
static inline size_t cache_class(size_t eff, size_t *bytes)
{
  size_t t = eff + RC_HDR_SIZE;
  if (t < eff) return NCLS;
  if (t <= SMALL_MAX) {
    *bytes = (t + RC_GRANULE - 1) & ~(size_t)(RC_GRANULE - 1);
    return (t + RC_GRANULE - 1) >> RC_GRANULE_SHIFT;
  }
  size_t pages = (t + RC_PAGE - 1) >> RC_PAGE_SHIFT;
  *bytes = pages << RC_PAGE_SHIFT;
  return pages < NLARGE ? NSMALL + pages : NCLS;
}

/* Most blocks a class of this thread's cache holds. */
static inline long cache_max(void) { return rc_opt.thread_cache > 1 ? rc_opt.thread_cache : 1; }

/* May a freed block of class cls join this thread's cache? Large classes
 * start at NSMALL + 1 page. */
static inline bool cache_room(size_t cls)
{
  if (cache.n[cls] >= rc_opt.thread_cache) return false;
  return cls <= NSMALL || cache.pages + (cls - NSMALL) <= LARGE_CACHE_PAGES;
}

/* How many objects a refill takes: about 4 KiB worth, at most 32, never
 * more than the cache keeps. */
static inline unsigned refill_count(size_t cls)
{
  unsigned n = (unsigned)(RC_PAGE / (cls << RC_GRANULE_SHIFT));
  if (n > 32) n = 32;
  if (n > (unsigned)rc_opt.thread_cache) n = (unsigned)rc_opt.thread_cache;
  return n ? n : 1;
}

/* A small class with an empty cache refills it from its slab. */
static unsigned cache_refill(size_t cls)
{
  RC_DCHECK(!cache.head[cls] && cache.n[cls] == 0);
  unsigned n = rc_slab_refill(cls, refill_count(cls), &cache.head[cls]);
  cache.n[cls] += (uint16_t)n;
  RC_DCHECK(cache.n[cls] <= cache_max());
  return n;
}

/* Plain malloc takes Boehm's atomic kind, which Boehm neither clears nor
 * scans (reachcheck scans blocks itself; docs/boehm.md: ~20% faster);
 * calloc takes the cleared kind up to 2 MiB (Boehm clears it; larger:
 * entry.c, CALLOC_UNTOUCHED_FROM). */
void *rc_alloc_block(size_t size, size_t align, const struct rc_at *at, bool *fresh)
{
  RC_DCHECK(rc_in_critical > 0);
  if (RC_UNLIKELY(size > RC_MAX_SIZE)) { errno = ENOMEM; return NULL; }
  if (RC_UNLIKELY(!heap_ready())) rc_heap_init();
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
  if (align <= RC_GRANULE) {
    size_t want = 0;
    size_t cls = cache_class(eff, &want);
    if (cls < NCLS && (cache.head[cls] || (cls < NSMALL && cache_refill(cls)))) {
      char *user = cache.head[cls];
      cache.head[cls] = *(void **)user;
      /* The cache's link must not survive in the new block: malloc does not
       * clear memory, and a stale raw pointer to another cached block (which
       * may become a leak later) would keep it reachable. glibc mangles its
       * tcache links for the same reason (safe-linking). */
      *(void **)user = NULL;
      RC_DCHECK(cache.n[cls] > 0);
      cache.n[cls]--;
      if (cls > NSMALL) cache.pages -= (uint16_t)(cls - NSMALL);
      RC_DCHECK(cache.pages <= LARGE_CACHE_PAGES);
      base = user - RC_HDR_SIZE;
      struct rc_hdr *h = (struct rc_hdr *)base;
      slot = h->slot;
      rc_count_alloc(stack, size, slot);   /* here, while stack is in a register */
      note_epoch(slot);
      rc_set_hdr(h, slot, stack, rc_hdr_pack(size, 1, flags, RC_LIVE));
      *fresh = false;
      return user;
    }
    size_t ask = cls < NCLS ? want : eff + RC_HDR_SIZE;
    base = boehm_alloc(ask, *fresh);
  } else {
    if (eff + align + RC_HDR_SIZE < eff) { errno = ENOMEM; return NULL; }
    base = boehm_alloc(eff + align + RC_HDR_SIZE, *fresh);
  }
  if (RC_UNLIKELY(!base)) { errno = ENOMEM; return NULL; }
  char *user = base + RC_HDR_SIZE;
  if (align > RC_GRANULE) {
    user = (char *)(((uintptr_t)base + RC_HDR_SIZE + align - 1) & ~(uintptr_t)(align - 1));
    size_t pad = (size_t)(user - base);
    pad16 = pad >> RC_GRANULE_SHIFT < RC_PAD_ESC ? (unsigned)(pad >> RC_GRANULE_SHIFT) : RC_PAD_ESC;
    if (pad16 == RC_PAD_ESC) ((uint64_t *)base)[2] = pad;
  }
  uint32_t win = rc_win_get((uintptr_t)base);
  if (RC_UNLIKELY(!win)) {
    GC_free(base);
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
      rc_log("the tracked heap does not fit the block table (more than %u windows of %u MiB, or memory above 2^%d): "
             "allocations there fail with ENOMEM", RC_WIN_MAX - 1, (1u << RC_WIN_SHIFT) >> 20, RC_ADDR_BITS);
    errno = ENOMEM;
    return NULL;
  }
  note_page(win, (uintptr_t)base);
  slot = rc_slot_get();
  if (RC_UNLIKELY(!slot)) { GC_free(base); errno = ENOMEM; return NULL; }
  struct rc_hdr *h = (struct rc_hdr *)base;
  note_epoch(slot);
  note_bounds((uintptr_t)user, (uintptr_t)user + eff);
  rc_set_hdr(h, slot, stack, rc_hdr_pack(size, pad16, flags, RC_LIVE));
  RC_DCHECK(rc_hdr_user(h) == user);
  rc_count_alloc(stack, size, slot);
  return user;
}

/* Zero the user bytes [u, u + size) of a freed block on its resident
 * pages only: a page the program never touched already reads zero, and
 * clearing it would fault it in (a big calloc'd table used in part). */
static void clear_resident(uintptr_t u, size_t size)
{
  RC_DCHECK(size < RELEASE_PAGES_FROM);
  uintptr_t lo = u & ~(uintptr_t)(RC_PAGE - 1), end = u + size;
  unsigned char vec[(RELEASE_PAGES_FROM >> RC_PAGE_SHIFT) + 2];
  if (mincore((void *)lo, end - lo, vec)) {   /* cannot tell: clear it all */
    memset((void *)u, 0, size);
    return;
  }
  for (uintptr_t pg = lo; pg < end; pg += RC_PAGE) {
    if (!(vec[(pg - lo) >> RC_PAGE_SHIFT] & 1)) continue;
    uintptr_t a = pg > u ? pg : u, b = pg + RC_PAGE < end ? pg + RC_PAGE : end;
    memset((void *)a, 0, b - a);
  }
}

/* Give a block back to Boehm. Boehm does not clear atomic objects on
 * GC_free, so zero the state word: a later free of the same pointer then
 * reads as a double free, not as an overwritten header. */
static void to_boehm(struct rc_hdr *h)
{
  uint64_t size = rc_hdr_size(h);
  if (RC_UNLIKELY(size >= RELEASE_PAGES_FROM)) {
    uintptr_t u = (uintptr_t)rc_hdr_user(h);   /* before the pages go: a big pad is in word 2 */
    uintptr_t lo = ((uintptr_t)h + RC_HDR_SIZE + RC_PAGE - 1) & ~(uintptr_t)(RC_PAGE - 1);
    uintptr_t hi = ((uintptr_t)h + GC_size(h)) & ~(uintptr_t)(RC_PAGE - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
    scrub(u, lo);   /* the partial pages at both ends */
    if (hi > lo && hi < u + size) scrub(hi, u + size);
  }
  rc_slot_put(h->slot);
  __atomic_store_n(&h->bits, 0, __ATOMIC_RELEASE);
  /* A thread-cache link in the first user word would survive into the next
   * atomic object Boehm serves from this memory: the checker's own stale
   * copy of a pointer. */
  *(void **)((char *)h + RC_HDR_SIZE) = NULL;
  boehm_lock_ok();
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
  rc_slab_put(slab_class(sl), user, user);
}

/* A freed block of class cls (user: its user bytes) joins this thread's
 * cache, linked through its first word. */
static inline void cache_push(size_t cls, char *user)
{
  *(void **)user = cache.head[cls];
  cache.head[cls] = user;
  cache.n[cls]++;
  if (cls > NSMALL) cache.pages += (uint16_t)(cls - NSMALL);
  RC_DCHECK(cache.n[cls] <= cache_max() && cache.pages <= LARGE_CACHE_PAGES);
}

/* Every path of a free but the common one: the block's size and slot, its
 * header already stored freed. */
static void release_other(struct rc_hdr *h, uint64_t size, const struct rc_slab *sl, size_t cls)
{
  if (size < RELEASE_PAGES_FROM) {   /* larger: to_boehm */
    uintptr_t u = (uintptr_t)rc_hdr_user(h);
    if (size >= CLEAR_FROM) {
      if (rc_opt.scrub_freed) clear_resident(u, size);
    } else {
      scrub(u, u + size);
    }
  }
  if (cls >= NCLS || rc_opt.thread_cache <= 0) {
    give_back(h);
    return;
  }
  char *user = (char *)h + RC_HDR_SIZE;
  if (cache_room(cls)) {
    cache_push(cls, user);
    return;
  }
  if (!sl) {
    to_boehm(h);
    return;
  }
  /* The class's cache is full: this object and the newer half of the cache
   * go to the class's list under one lock. */
  unsigned k = cache.n[cls] / 2;
  void *last = user;
  *(void **)user = cache.head[cls];
  for (unsigned i = 0; i < k; i++) last = *(void **)last;
  cache.head[cls] = *(void **)last;
  cache.n[cls] -= (uint16_t)k;
  rc_slab_put(cls, user, last);
}

/* The same, then the counters' flush if due (after the rest: nothing of
 * the caller lives across the call). */
static __attribute__((noinline)) void release_slow(struct rc_hdr *h, uint64_t size, const struct rc_slab *sl,
                                                    size_t cls, bool flush)
{
  release_other(h, size, sl, cls);
  if (flush) rc_live_flush();
}
static __attribute__((noinline)) void scrub_then_flush(uintptr_t lo, uintptr_t hi)
{
  scrub(lo, hi);
  rc_live_flush();
}

/* A free after its counting (flush: the live delta is due to be handed
 * on). The common case (a block of this thread's cache classes, room in
 * its class, under CLEAR_FROM bytes) is straight-line code whose only
 * calls come last, when nothing of it lives on: the clearing of the freed
 * bytes (after the cache link is stored in the first word, so from the
 * second) and the counters' flush. As one function with the rare paths
 * and the counting's calls in the middle, every value took a callee-saved
 * register: 14 instructions of each free (bench/RESULTS.md, "Counters
 * cost"). */
static inline __attribute__((always_inline)) void release_rest(struct rc_hdr *h, uint64_t size, unsigned pad16,
                                                                uint32_t stack, uint32_t slot, bool flush)
{
  const struct rc_slab *sl = rc_slab_of_slot(slot);
  rc_set_hdr_in(h, slot, stack, rc_hdr_pack(size, pad16, 0, RC_FREED), sl);
  /* A slab object's class is its slab's (realloc may have shrunk it). */
  size_t want, cls = sl ? slab_class(sl) : pad16 == 1 ? cache_class(size ? size : 1, &want) : NCLS;
  if (RC_UNLIKELY(size >= CLEAR_FROM || pad16 != 1 || cls >= NCLS || rc_opt.thread_cache <= 0 || !cache_room(cls))) {
    release_slow(h, size, sl, cls, flush);
    return;
  }
  char *user = (char *)h + RC_HDR_SIZE;
  cache_push(cls, user);
  uintptr_t lo = (uintptr_t)user + sizeof(void *), hi = (uintptr_t)user + size;   /* the link stays */
  if (flush) {
    scrub_then_flush(lo, hi);   /* tail calls both: no value of this function lives across a call */
    return;
  }
  scrub(lo, hi);
}

/* The free's own copies for an aligned block and for when the live delta
 * is due, out of line: inlined, the compiler merged them with the common
 * case and kept the flag in a register through it; and with pad16 known
 * to be 1 the common case needs one callee-saved register, not three.
 * Two functions, not one with the flag as an argument: the two calls then
 * shared their tail and the flag's register again. */
static __attribute__((noinline)) void release_general(struct rc_hdr *h, uint64_t size, unsigned pad16,
                                                       uint32_t stack, uint32_t slot)
{
  release_rest(h, size, pad16, stack, slot, false);
}
static __attribute__((noinline)) void release_flushing(struct rc_hdr *h, uint64_t size, unsigned pad16,
                                                        uint32_t stack, uint32_t slot)
{
  release_rest(h, size, pad16, stack, slot, true);
}

/* The first free of a stack in a new range of this thread's counters:
 * the whole count (its flush too, if due) before the rest. */
static __attribute__((noinline)) void release_count_slow(struct rc_hdr *h, uint64_t size, unsigned pad16,
                                                          uint32_t stack, uint32_t slot)
{
  rc_count_free(stack, size, slot);
  release_rest(h, size, pad16, stack, slot, false);
}

void rc_release_block(struct rc_hdr *h)
{
  RC_DCHECK(rc_in_critical > 0 && rc_hdr_state(h) == RC_LIVE);
  uint64_t size = rc_hdr_size(h);
  unsigned pad16 = rc_hdr_pad16(h);
  /* in locals: the counters' adds to memory could alias *h for all the
   * compiler knows */
  uint32_t stack = h->stack, slot = h->slot;
  if (RC_UNLIKELY(!rc_count_free_cell(stack, size, slot))) {
    release_count_slow(h, size, pad16, stack, slot);
    return;
  }
  if (RC_UNLIKELY(rc_count_free_rest(size) == RC_COUNT_FLUSH)) {
    release_flushing(h, size, pad16, stack, slot);
    return;
  }
  if (RC_UNLIKELY(pad16 != 1)) {
    release_general(h, size, pad16, stack, slot);
    return;
  }
  release_rest(h, size, 1, stack, slot, false);
}

void rc_heap_thread_exit(void)
{
  rc_in_critical++;   /* a handler that mallocs now must not wait for slab_lock or pool_lock */
  for (int c = 0; c < NCLS; c++) {
    while (cache.head[c]) {
      char *user = cache.head[c];
      cache.head[c] = *(void **)user;
      give_back((struct rc_hdr *)(user - RC_HDR_SIZE));
    }
    cache.n[c] = 0;
  }
  cache.pages = 0;
  rc_slab_thread_exit();
  rc_slots_thread_exit();
  rc_in_critical--;
}
