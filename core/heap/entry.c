/* The names the program calls: malloc, free, calloc, realloc,
 * reallocarray, memalign, aligned_alloc, posix_memalign, valloc, pvalloc
 * and malloc_usable_size, exported from libreachcheck.so in place of
 * glibc's. Each records the program's frame (RC_AT_HERE), so the stack is
 * walked from there, never through the runtime's own frames; the arena
 * serves what the tracked heap cannot (during GC_init, with the world
 * stopped, from a signal handler inside the allocator). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "heap/heap_internal.h"
#include "stack/counters.h"
#include "stack/timeline.h"

static inline void *alloc_block(size_t size, size_t align, const struct rc_at *at, bool *fresh)
{
  rc_in_critical++;
  void *p = rc_alloc_block(size, align, at, fresh);
  rc_in_critical--;
  return p;
}

static inline void release_block(struct rc_hdr *h)
{
  rc_in_critical++;
  rc_release_block(h);
  rc_in_critical--;
}

/* User bytes a block can grow to in place. */
static size_t block_cap(const struct rc_hdr *h)
{
  const struct rc_slab *s = rc_slab_of_slot(h->slot);
  return (s ? s->size : GC_size((void *)h)) - RC_HDR_SIZE;
}

static void *do_alloc(size_t n, size_t align, const struct rc_at *at)
{
  bool fresh = false;
  if (RC_UNLIKELY(rc_in_runtime | rc_in_critical) && (!heap_ready() || rc_world_stopped || rc_in_critical))
    return rc_arena_alloc(n, align);
  return alloc_block(n, align, at, &fresh);
}

RC_EXPORT void *malloc(size_t n)
{
  RC_AT_HERE(at);
  return do_alloc(n, RC_GRANULE, &at);
}

RC_EXPORT void free(void *p)
{
  if (!p || in_arena(p)) return;
  if (RC_UNLIKELY(!heap_ready())) rc_heap_init();
  if (RC_UNLIKELY(rc_in_critical)) {  /* from a signal handler inside the allocator */
    struct rc_hdr *x = rc_block_exact(p);
    if (x) {
      rc_count_free_async(x->stack, rc_hdr_size(x));
      rc_live_add_async(-(int64_t)rc_hdr_size(x));
      rc_set_bits(x, rc_hdr_pack(rc_hdr_size(x), rc_hdr_pad16(x), 0, RC_FREED));
    }
    return;
  }
  RC_AT_HERE(at);
  struct rc_hdr *h = checked_hdr(p, true, &at);
  if (h) release_block(h);
}

/* From this size calloc zeroes a block without touching its pages. Boehm
 * clears a large object of its cleared kind with a memset of the whole
 * object, so a sparse table (calloc 1 GiB, use a few pages) cost its full
 * size in RSS where glibc's calloc (fresh pages from mmap) costs what is
 * used. Such a block is taken from the atomic kind instead, and its whole
 * pages are given back to the kernel (MADV_DONTNEED: a private anonymous
 * page then reads zero and costs nothing until written); only the partial
 * pages at its ends are cleared. Large blocks freed back to Boehm already
 * gave their pages back (alloc.c, RELEASE_PAGES_FROM), so on reuse this is
 * a page-table walk. */
#define CALLOC_UNTOUCHED_FROM ((size_t)2 << 20)

static void zero_untouched(char *p, size_t t)
{
  uintptr_t lo = ((uintptr_t)p + RC_PAGE - 1) & ~(uintptr_t)(RC_PAGE - 1);
  uintptr_t hi = ((uintptr_t)p + t) & ~(uintptr_t)(RC_PAGE - 1);
  if (hi <= lo || madvise((void *)lo, hi - lo, MADV_DONTNEED)) {
    memset(p, 0, t);
    return;
  }
  memset(p, 0, lo - (uintptr_t)p);
  memset((void *)hi, 0, (uintptr_t)p + t - hi);
}

RC_EXPORT void *calloc(size_t n, size_t m)
{
  size_t t;
  if (__builtin_mul_overflow(n, m, &t)) { errno = ENOMEM; return NULL; }
  if (RC_UNLIKELY(rc_in_runtime | rc_in_critical) && (!heap_ready() || rc_world_stopped || rc_in_critical))
    return rc_arena_alloc(t, RC_GRANULE);  /* never reused: zero */
  bool big = t >= CALLOC_UNTOUCHED_FROM, fresh = !big;
  RC_AT_HERE(at);
  void *p = alloc_block(t, RC_GRANULE, &at, &fresh);
  if (p && big) zero_untouched(p, t);
  else if (p && !fresh) memset(p, 0, t);
  return p;
}

static void *do_realloc(void *p, size_t n, const struct rc_at *at)
{
  if (!p) return do_alloc(n, RC_GRANULE, at);
  if (in_arena(p)) {
    size_t old = rc_arena_size(p);
    void *q = do_alloc(n, RC_GRANULE, at);
    if (q) memcpy(q, p, old < n ? old : n);
    return q;
  }
  if (RC_UNLIKELY(!heap_ready())) rc_heap_init();
  if (RC_UNLIKELY(rc_in_critical)) {  /* from a signal handler inside the allocator */
    struct rc_hdr *x = rc_block_exact(p);
    void *q = rc_arena_alloc(n, RC_GRANULE);
    if (x && q) {
      size_t old = rc_hdr_size(x);
      memcpy(q, p, old < n ? old : n);
      rc_count_free_async(x->stack, old);
      rc_live_add_async(-(int64_t)old);
      rc_set_bits(x, rc_hdr_pack(old, rc_hdr_pad16(x), 0, RC_FREED));
    }
    return q;
  }
  if (n == 0) {  /* glibc: realloc(p, 0) frees p and returns NULL */
    free(p);
    return NULL;
  }
  struct rc_hdr *h = checked_hdr(p, false, at);
  if (!h) return do_alloc(n, RC_GRANULE, at);
  size_t old = rc_hdr_size(h);
  if (rc_hdr_pad16(h) == 1 && n <= RC_MAX_SIZE) {
    size_t cap = block_cap(h);
    if (n <= cap && n >= cap / 2) {
      unsigned flags = rc_hdr_flags(h) & ~(unsigned)RC_F_REPORTED;
      /* counted as a free and an allocation (stack/counters.h); the
       * runtime's own block keeps stack 0 */
      rc_in_critical++;
      rc_count_free(h->stack, old, h->slot);
      rc_in_critical--;
      if (!rc_in_runtime) {
        rc_in_runtime++;
        h->stack = rc_depot_capture(at);
        rc_in_runtime--;
      }
      rc_in_critical++;
      rc_count_alloc(h->stack, n, h->slot);
      rc_in_critical--;
      note_epoch(h->slot);
      note_bounds((uintptr_t)p, (uintptr_t)p + n);
      if (n < old) scrub((uintptr_t)p + n, (uintptr_t)p + old);   /* the cut-off tail */
      rc_set_bits(h, rc_hdr_pack(n, 1, flags, RC_LIVE));
      return p;
    }
  }
  void *q = do_alloc(n, RC_GRANULE, at);
  if (!q) return NULL;  /* p stays valid, as in glibc */
  memcpy(q, p, old < n ? old : n);
  release_block(h);
  rc_me.last = ((const struct rc_hdr *)((const char *)q - RC_HDR_SIZE))->slot;   /* as if freed first, then allocated (heaptrack's order) */
  return q;
}

RC_EXPORT void *realloc(void *p, size_t n)
{
  RC_AT_HERE(at);
  return do_realloc(p, n, &at);
}

RC_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
  size_t t;
  if (__builtin_mul_overflow(n, m, &t)) { errno = ENOMEM; return NULL; }
  RC_AT_HERE(at);
  return do_realloc(p, t, &at);
}

static bool pow2(size_t a) { return a && !(a & (a - 1)); }

RC_EXPORT void *memalign(size_t align, size_t n)
{
  if (!pow2(align)) { errno = EINVAL; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(n, align, &at);
}

RC_EXPORT void *aligned_alloc(size_t align, size_t n)
{
  if (!pow2(align)) { errno = EINVAL; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(n, align, &at);
}

RC_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
  if (!pow2(align) || align % sizeof(void *)) return EINVAL;
  int e = errno;
  RC_AT_HERE(at);
  void *p = do_alloc(n, align, &at);
  if (!p) { errno = e; return ENOMEM; }
  *out = p;
  return 0;
}

RC_EXPORT void *valloc(size_t n)
{
  RC_AT_HERE(at);
  return do_alloc(n, (size_t)sysconf(_SC_PAGESIZE), &at);
}

RC_EXPORT void *pvalloc(size_t n)
{
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  size_t r = (n + pg - 1) & ~(pg - 1);
  if (r < n) { errno = ENOMEM; return NULL; }
  RC_AT_HERE(at);
  return do_alloc(r ? r : pg, pg, &at);
}

bool rc_heap_owns(const void *p) { return p && (in_arena(p) || rc_block_exact(p)); }

/* The requested size, not Boehm's rounded one: bytes past it are not scanned. */
RC_EXPORT size_t malloc_usable_size(void *p)
{
  if (!p) return 0;
  if (in_arena(p)) return rc_arena_size(p);
  struct rc_hdr *h = rc_block_exact(p);
  return h ? rc_hdr_size(h) : 0;
}

/* glibc's heap statistics, of the heap reachcheck owns (glibc's arenas
 * hold next to nothing while it runs): arena, what Boehm has mapped;
 * uordblks, the live bytes of the program's blocks (the allocation
 * counters': blocks made while the checker was disabled, which have no
 * stack, are not in it); fordblks, Boehm's free bytes. The counts of
 * chunks and mmapped regions have no equivalent and read 0. */
RC_EXPORT struct mallinfo2 mallinfo2(void)
{
  struct mallinfo2 m = {0};
  if (!heap_ready()) return m;
  uint64_t bytes, blocks;
  rc_counts_live_total(&bytes, &blocks);
  m.arena = GC_get_heap_size();
  m.uordblks = (size_t)bytes;
  m.fordblks = GC_get_free_bytes();
  return m;
}

/* The same in int fields (glibc's deprecated form), each at most INT_MAX. */
RC_EXPORT struct mallinfo mallinfo(void)
{
  struct mallinfo2 m2 = mallinfo2();
  struct mallinfo m = {0};
  m.arena = m2.arena > INT_MAX ? INT_MAX : (int)m2.arena;
  m.uordblks = m2.uordblks > INT_MAX ? INT_MAX : (int)m2.uordblks;
  m.fordblks = m2.fordblks > INT_MAX ? INT_MAX : (int)m2.fordblks;
  return m;
}
