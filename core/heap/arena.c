/* The bootstrap arena: blocks served while GC_init runs (about 9, 35 KB:
 * docs/boehm.md), by the checker while the world is stopped, and to signal
 * handlers that interrupted the allocator. Never freed, never scanned, never
 * tracked. Lock-free: a thread stopped in the middle of rc_arena_alloc must
 * not block the checker. */
#define _GNU_SOURCE
#include "heap/heap_internal.h"

char rc_arena[ARENA_BYTES] __attribute__((aligned(16)));
static size_t arena_used;

/* Overflow chunks once the arena is full (handlers that allocate on the
 * checking thread during many checks fill it), remembered so that free,
 * realloc and malloc_usable_size still recognise their blocks. An entry is
 * published by its `hi` (release); readers skip entries with hi == 0. */
#define ARENA_EXTRA 256
static struct { uintptr_t lo, hi; } arena_extra[ARENA_EXTRA];
unsigned rc_arena_extra_n;

/* in_arena (heap_internal.h) past the arena itself. */
bool rc_in_arena_extra(const void *p)
{
  unsigned n = __atomic_load_n(&rc_arena_extra_n, __ATOMIC_ACQUIRE);
  if (n > ARENA_EXTRA) n = ARENA_EXTRA;
  for (unsigned i = 0; i < n; i++) {
    uintptr_t hi = __atomic_load_n(&arena_extra[i].hi, __ATOMIC_ACQUIRE);
    if (hi && (uintptr_t)p >= arena_extra[i].lo && (uintptr_t)p < hi) return true;
  }
  return false;
}

/* A block of n bytes aligned to align (at least 16), its size in the word in
 * front of it (rc_arena_size); NULL when out of memory. */
void *rc_arena_alloc(size_t n, size_t align)
{
  if (align < RC_GRANULE) align = RC_GRANULE;
  size_t cur = __atomic_load_n(&arena_used, __ATOMIC_RELAXED), off;
  do {
    off = (cur + RC_GRANULE + align - 1) & ~(align - 1);
    if (off + n > sizeof rc_arena || off + n < off) break;
  } while (!__atomic_compare_exchange_n(&arena_used, &cur, off + n, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  if (off + n <= sizeof rc_arena && off + n >= off) {
    ((size_t *)(rc_arena + off))[-1] = n;
    return rc_arena + off;
  }
  /* arena exhausted: plain pages, leaked on purpose, remembered */
  unsigned i = __atomic_fetch_add(&rc_arena_extra_n, 1, __ATOMIC_ACQ_REL);
  if (i >= ARENA_EXTRA) return NULL;   /* could not be remembered: never hand it out */
  size_t len = n + align + RC_GRANULE;
  char *m = rc_mmap(len);
  if (!m) return NULL;
  void *r = (void *)(((uintptr_t)m + RC_GRANULE + align - 1) & ~(align - 1));
  ((size_t *)r)[-1] = n;
  RC_DCHECK((char *)r - sizeof(size_t) >= m && (char *)r + n <= m + len);
  arena_extra[i].lo = (uintptr_t)m;
  __atomic_store_n(&arena_extra[i].hi, (uintptr_t)m + len, __ATOMIC_RELEASE);
  return r;
}
