/* Which block an address is: the header near it (slab position or
 * GC_base), validated against its slot and tag (rc_block_of,
 * rc_block_exact), and what free or realloc was handed when it is no live
 * block's user pointer: interior, foreign, freed or overwritten. The heap
 * classifies bad frees; the report layer prints them (its hook). */
#define _GNU_SOURCE
#include "heap/heap_internal.h"

static struct rc_hdr *valid_hdr(void *base)
{
  return rc_hdr_check(base) == HDR_OK ? base : NULL;
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

/* ---- bad frees: classified here, reported by the hook ---- */
/* Until the report layer installs its hook (start-up): one line, no stack. */
static void bad_minimal(enum rc_bad_kind kind, const void *p, uint32_t stack)
{
  (void)stack;
  rc_log("error: %s: %p", kind == RC_BAD_CORRUPT ? "heap corruption" : "bad free or realloc", p);
}
static rc_bad_hook bad_hook = bad_minimal;
void rc_heap_set_bad_hook(rc_bad_hook fn) { __atomic_store_n(&bad_hook, fn ? fn : bad_minimal, __ATOMIC_RELEASE); }

struct rc_hdr *rc_classify_hdr(const void *p, bool is_free, const struct rc_at *at)
{
  enum rc_bad_kind what = is_free ? RC_BAD_INVALID_FREE : RC_BAD_INVALID_REALLOC;
  void *base = rc_hdr_near((uintptr_t)p);
  if (base) {
    struct rc_hdr *h = base;
    int st = rc_hdr_check(h);
    uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
    if (st == HDR_OK && rc_hdr_user(h) == p) return h;
    if (st == HDR_OK) what = is_free ? RC_BAD_INTERIOR_FREE : RC_BAD_INTERIOR_REALLOC;
    else if (st == HDR_CORRUPT) what = RC_BAD_CORRUPT;
    /* GC_free zeroes every word but the first; a cached block is FREED. A
     * zeroed header that a slot still points at was zeroed by an overflow. */
    else if (bits == 0 && slot_points_at(h)) what = RC_BAD_CORRUPT;
    else if (bits == 0 || (rc_hdr_state(h) == RC_FREED && h->slot < rc_slot_hwm && rc_slot_hdr(h->slot) == h))
      what = is_free ? RC_BAD_DOUBLE_FREE : RC_BAD_REALLOC_FREED;
    else if ((const char *)p == (const char *)base + RC_HDR_SIZE) what = RC_BAD_CORRUPT;
  } else if (!rc_slab_at((uintptr_t)p) && GC_is_heap_ptr(p) && ((uintptr_t)p & (RC_PAGE - 1)) == RC_HDR_SIZE) {
    /* A freed large block: Boehm returned its pages to the free block list,
     * so GC_base no longer finds it, but the memory is still its heap. */
    what = is_free ? RC_BAD_DOUBLE_FREE : RC_BAD_REALLOC_FREED;
  }
  if (what == RC_BAD_CORRUPT) __atomic_fetch_add(&rc_corrupt_seen, 1, __ATOMIC_RELAXED);
  rc_in_runtime++;
  rc_bad_hook hook = __atomic_load_n(&bad_hook, __ATOMIC_ACQUIRE);
  hook(what, p, rc_depot_capture(at));
  rc_in_runtime--;
  return NULL;
}
