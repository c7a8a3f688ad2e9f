/* The mark phase: from root ranges through tracked blocks with an explicit
 * mark stack (a 1M-node list must not recurse), then classification of the
 * unmarked blocks into direct and indirect leaks. Runs with the world
 * stopped: no locks, no allocation from the checked heap. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <gc/gc.h>
#include "check/mark.h"

static inline bool test_set(uint8_t *bits, uint32_t i)
{
  uint8_t m = (uint8_t)(1u << (i & 7));
  if (bits[i >> 3] & m) return true;
  bits[i >> 3] |= m;
  return false;
}
static inline bool test(const uint8_t *bits, uint32_t i) { return bits[i >> 3] & (1u << (i & 7)); }

/* The address bitmap covers heaps up to 2^32 granules (64 GiB); a mark
 * stack entry is a granule index from alo, or a slot with this bit set when
 * there is no address bitmap. */
#define MARK_SPAN_MAX (1ull << (32 + RC_GRANULE_SHIFT))
#define MARK_BY_SLOT 0x80000000u

/* Below this much bitmap in all, the bitmaps are carved from one mapping:
 * a mapping's mmap, first fault and munmap cost ~3 us, and a short-lived
 * process's exit check made four of them (bench/RESULTS.md, session 19). */
#define MARK_ONE_MAX ((size_t)1 << 20)

static size_t page_up(size_t n) { return (n + RC_PAGE - 1) & ~(size_t)(RC_PAGE - 1); }

int rc_mark_init(struct rc_mark *m, bool leaves)
{
  memset(m, 0, sizeof *m);
  m->nslots = __atomic_load_n(&rc_slot_hwm, __ATOMIC_ACQUIRE);
  m->bytes = ((size_t)m->nslots + 7) / 8 + RC_PAGE;
  uintptr_t lo = __atomic_load_n(&rc_heap_lo, __ATOMIC_ACQUIRE) & ~(uintptr_t)(RC_PAGE - 1);
  uintptr_t hi = __atomic_load_n(&rc_heap_hi, __ATOMIC_ACQUIRE);
  bool span = hi > lo && hi - lo <= MARK_SPAN_MAX;   /* at most 512 MiB of bitmap, untouched pages free */
  if (span) {
    m->alo = lo;
    m->abytes = ((hi - lo) >> (RC_GRANULE_SHIFT + 3)) + RC_PAGE;   /* a bit per granule */
  }
  size_t pb = page_up(m->bytes), all = pb * (leaves ? 3 : 2) + (span ? page_up(m->abytes) : 0);
  char *one = all <= MARK_ONE_MAX ? rc_mmap(all) : NULL;
  if (one) {
    m->one = one, m->one_bytes = all;
    m->marked = (uint8_t *)one;
    m->indirect = (uint8_t *)one + pb;
    if (leaves) m->leaf = (uint8_t *)one + 2 * pb;
    if (span) m->abits = (uint8_t *)one + (leaves ? 3 : 2) * pb;
  } else {
    m->marked = rc_mmap_dense(m->bytes);
    m->indirect = rc_mmap_dense(m->bytes);
    if (leaves) m->leaf = rc_mmap_dense(m->bytes);   /* optional: NULL only costs the retention passes time */
    if (span) m->abits = rc_mmap(m->abytes);
  }
  rc_vec_init(&m->stack, sizeof(uint32_t));
  rc_vec_init(&m->unl, sizeof(uint32_t));
  m->tty = -1;
  return m->marked && m->indirect ? 0 : -1;
}

void rc_mark_reset(struct rc_mark *m)
{
  memset(m->marked, 0, ((size_t)m->nslots + 7) / 8);
  if (m->abits) memset(m->abits, 0, m->abytes);
  m->reach_blocks = m->reach_bytes = m->ign_blocks = m->ign_bytes = 0;
  __atomic_store_n(&m->unl_ready, false, __ATOMIC_RELEASE);   /* the marks it was made from are gone */
}

void rc_mark_free(struct rc_mark *m)
{
  if (m->tty > 0) rc_progress(true, "", 1, 1);
  if (m->one) {
    rc_munmap(m->one, m->one_bytes);
  } else {
    rc_munmap(m->marked, m->bytes);
    rc_munmap(m->indirect, m->bytes);
    rc_munmap(m->leaf, m->bytes);
    rc_munmap(m->abits, m->abytes);
  }
  rc_vec_free(&m->stack);
  rc_vec_free(&m->unl);
}

/* The mark stack holds headers as 32-bit granule indexes from alo (the
 * address bitmap's base, so heap spans up to 64 GiB), or slot numbers with
 * the top bit set when there is no address bitmap. */
static inline void account(struct rc_mark *m, const struct rc_hdr *h)
{
  if (rc_hdr_flags(h) & RC_F_IGNORED) {
    m->ign_blocks++;
    m->ign_bytes += rc_hdr_size(h);
  } else {
    m->reach_blocks++;
    m->reach_bytes += rc_hdr_size(h);
  }
}

static inline void push(struct rc_mark *m, struct rc_hdr *h)
{
  account(m, h);
  uint32_t *s = rc_vec_push(&m->stack);
  if (!s) { m->overflow = true; return; }   /* out of memory for the stack: rescan later */
  size_t ai = ((uintptr_t)h - m->alo) >> RC_GRANULE_SHIFT;
  *s = m->abits && ai < MARK_BY_SLOT ? (uint32_t)ai : (h->slot | MARK_BY_SLOT);
}
static inline struct rc_hdr *pop(struct rc_mark *m)
{
  uint32_t v = ((uint32_t *)m->stack.data)[--m->stack.len];
  return v & MARK_BY_SLOT ? rc_slot_hdr(v & ~MARK_BY_SLOT) : (struct rc_hdr *)(m->alo + ((uintptr_t)v << RC_GRANULE_SHIFT));
}

/* Bit of header h in the address bitmap, or SIZE_MAX when h is outside it
 * (h < alo wraps and fails the bound too). */
static inline size_t abit_of(const struct rc_mark *m, const struct rc_hdr *h)
{
  size_t ai = ((uintptr_t)h - m->alo) >> RC_GRANULE_SHIFT;
  return m->abits && ai < (m->abytes << 3) ? ai : SIZE_MAX;
}

/* Where the header of the block holding w would be (rc_hdr_near), and for
 * a slab object the slot its position gives (*slot; else 0). The last slab
 * found is tried first: neighbouring blocks point at each other, and a hit
 * saves the window and page lookups in front of the header's cache miss. */
static inline struct rc_hdr *near(struct rc_mark *m, uintptr_t w, uint32_t *slot)
{
  const struct rc_slab *s = m->last_slab;
  if (!s || w - s->base >= RC_SLAB_BYTES) {
    s = rc_slab_at(w);
    if (!s) {
      *slot = 0;
      return GC_base((void *)w);
    }
    m->last_slab = s;
  }
  uint32_t k = rc_slab_index(s, w);
  *slot = s->first + k;
  return rc_slab_obj(s, k);
}

/* `new T[0]` of a T with a destructor: an 8-byte block holding only the
 * array cookie (element count 0), and the program's pointer is one past its
 * end. LeakSanitizer's special case, to the letter: block size 8, pointer
 * at its end, cookie 0. (The word is still inside the block's slab object:
 * 16 + 8 bytes round up to a 32-byte object.) */
static inline bool op_new0(uintptr_t u, uintptr_t sz, uintptr_t w)
{
  return sz == sizeof(uintptr_t) && w == u + sz && *(const uintptr_t *)u == 0;
}

/* A block of at most LEAF_NOW_BYTES is looked at as it is marked, while
 * its header's cache line (which holds its first bytes) is at hand: when
 * none of its words lies inside the heap's bounds it is a leaf, done
 * without a push, a pop and a scan (bench/scale.c: 16M of its 28M blocks
 * are 16-byte leaves). Words as scan() takes them: 8-aligned, whole. */
#define LEAF_NOW_BYTES 32
static inline bool leaf_now(struct rc_mark *m, const struct rc_hdr *h, uintptr_t u, uintptr_t sz)
{
  if (sz > LEAF_NOW_BYTES || rc_opt.unaligned) return false;
  const uintptr_t *p = (const uintptr_t *)u, *e = (const uintptr_t *)((u + sz) & ~(uintptr_t)7);
  uintptr_t lo = rc_heap_lo, span = rc_heap_hi - lo;
  bool any = false;
  for (; p < e; p++) any |= *p - lo < span;
  if (any) return false;
  account(m, h);
  if (m->leaf) test_set(m->leaf, h->slot);
  m->scanned += sz;
  return true;
}

/* w is inside the heap bounds and h = near(w, &want) != NULL. Test the mark
 * bit of the slot the header names before validating the header: two of
 * three candidates in a typical graph point at marked blocks, and a garbage
 * slot number that hits a set bit only skips a word that is no block. A slab
 * object's slot must be the one its position gives (want); any other
 * header's slot must lead back to it. */
static inline void consider_base(struct rc_mark *m, uintptr_t w, struct rc_hdr *h, uint32_t want)
{
  /* A slab object's slot is its position's, so its own mark bit answers
   * first, without the header or the address bitmap, which only Boehm's
   * blocks (slot unknown before their header is read) need: 18 of ~170
   * instructions a candidate at bench/scale.c's shape (session 18). */
  size_t ai = SIZE_MAX;
  uint32_t slot;
  if (want) {
    if (want >= m->nslots || test(m->marked, want)) return;
    slot = want;   /* if the header names it: below */
  } else {
    ai = abit_of(m, h);
    if (ai != SIZE_MAX && test(m->abits, ai)) return;
    slot = h->slot;
    if (slot == 0 || slot >= m->nslots || test(m->marked, slot)) return;
  }
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  if (rc_bits_state(bits) != RC_LIVE || (rc_bits_flags(bits) & RC_F_INTERNAL)) return;
  if ((want ? h->slot != want : rc_slot_hdr(slot) != h) || !rc_hdr_intact(h, bits)) return;
  uintptr_t u = (uintptr_t)rc_hdr_user(h), sz = rc_hdr_size(h);
  if (w < u || !(w - u < sz || (sz == 0 && w == u) || op_new0(u, sz, w))) return;
  test_set(m->marked, slot);
  if (ai != SIZE_MAX) test_set(m->abits, ai);
  if (!leaf_now(m, h, u, sz)) push(m, h);
}

static inline void consider(struct rc_mark *m, uintptr_t w)
{
  if (w < rc_heap_lo || w >= rc_heap_hi) return;
  uint32_t want;
  struct rc_hdr *h = near(m, w, &want);
  if (h) consider_base(m, w, h, want);
}

/* Candidates of a scanned range are looked up and their headers prefetched
 * AHEAD candidates before they are considered, so the cache misses of
 * neighbouring candidates overlap (a lookup is a few loads from small
 * tables: a batch of 16 lookups then 16 considers left the first header
 * still in flight). */
#define AHEAD 16
#define SMALL_WORDS 4   /* ranges of at most this many words go without the look-ahead */
struct pending { uintptr_t w; struct rc_hdr *h; uint32_t want; };

static void drain(struct rc_mark *m);

/* A range full of pointers to unmarked blocks (an array of a million
 * pointers) would push them all before the first pop: past this many
 * entries a scan drains the stack itself, at most two levels deep, so the
 * mark stack stays a few hundred KiB instead of 4 bytes per block. */
#define DRAIN_AT 32768

/* Returns how many words of [lo, hi) lie inside the heap's bounds (with
 * unaligned=1: 1 whenever the range has a word at all). */
static unsigned scan(struct rc_mark *m, uintptr_t lo, uintptr_t hi)
{
  if (hi <= lo) return 0;
  if (rc_opt.unaligned) {
    for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p++) {
      uintptr_t w;
      memcpy(&w, (const void *)p, sizeof w);
      consider(m, w);
    }
    return hi - lo >= sizeof(uintptr_t);
  }
  lo = (lo + 7) & ~(uintptr_t)7;
  const uintptr_t *p = (const uintptr_t *)lo, *e = (const uintptr_t *)(hi & ~(uintptr_t)7);
  uintptr_t lo_b = rc_heap_lo, hi_b = rc_heap_hi;
  if (e - p <= SMALL_WORDS) {   /* a list node: nothing to overlap, the ring only costs */
    unsigned n = 0;
    for (; p < e; p++) {
      uintptr_t w = *p;
      if (w < lo_b || w >= hi_b) continue;
      n++;
      consider(m, w);
    }
    m->scanned += hi - lo;
    return n;
  }
  struct pending q[AHEAD];
  unsigned n = 0;
  for (; p < e; p++) {
    uintptr_t w = *p;
    if (w < lo_b || w >= hi_b) continue;
    struct pending *x = &q[n % AHEAD];
    if (n >= AHEAD && x->h) consider_base(m, x->w, x->h, x->want);   /* candidate n - AHEAD */
    x->w = w;
    x->h = near(m, w, &x->want);
    if (x->h) __builtin_prefetch(x->h);
    if (++n % AHEAD == 0 && RC_UNLIKELY(m->stack.len > DRAIN_AT) && m->depth < 2) {
      m->depth++;
      drain(m);
      m->depth--;
    }
  }
  for (unsigned i = n > AHEAD ? n - AHEAD : 0; i < n; i++)
    if (q[i % AHEAD].h) consider_base(m, q[i % AHEAD].w, q[i % AHEAD].h, q[i % AHEAD].want);
  m->scanned += hi - lo;
  return n;
}

/* Progress for long marks, only on a terminal (base/progress.c: write(2)
 * and a stack buffer only, as the world is stopped). */
static void progress(struct rc_mark *m)
{
  if (++m->popped & 0xfffff) return;
  if (m->tty < 0) m->tty = rc_progress_tty(m->nslots);
  rc_progress(m->tty, "marked", m->popped, m->nslots);
}

struct block_runs { struct rc_mark *m; unsigned n; };
static void scan_run(void *ctx, uintptr_t lo, uintptr_t hi)
{
  struct block_runs *c = ctx;
  c->n += scan(c->m, lo, hi);
}

static unsigned scan_block(struct rc_mark *m, uintptr_t u, uintptr_t e)
{
  struct block_runs c = {m, 0};
  if (rc_block_runs(u, e, scan_run, &c)) return c.n;
  return scan(m, u, e);
}

static void drain(struct rc_mark *m)
{
  while (m->stack.len) {
    progress(m);
    struct rc_hdr *h = pop(m);
    uintptr_t u = (uintptr_t)rc_hdr_user(h);
    if (!scan_block(m, u, u + rc_hdr_size(h)) && m->leaf) test_set(m->leaf, h->slot);
  }
}

void rc_mark_range(struct rc_mark *m, uintptr_t lo, uintptr_t hi)
{
  scan(m, lo, hi);
  drain(m);
}

void rc_mark_block(struct rc_mark *m, struct rc_hdr *h)
{
  if (h->slot < m->nslots && !test_set(m->marked, h->slot)) {
    size_t ai = abit_of(m, h);
    if (ai != SIZE_MAX) test_set(m->abits, ai);
    push(m, h);
  }
  drain(m);
}

/* Live, visible (not internal) block in slot i, or NULL. */
struct rc_hdr *rc_mark_live(uint32_t i)
{
  struct rc_hdr *h = rc_slot_hdr(i);
  if (!h || h->slot != i) return NULL;
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  if (rc_bits_state(bits) != RC_LIVE || (rc_bits_flags(bits) & RC_F_INTERNAL)) return NULL;
  if (!rc_hdr_intact(h, bits)) return NULL;
  return h;
}

struct rc_hdr *rc_mark_root_block(const struct rc_mark *m, uint32_t *i)
{
  for (uint32_t k = *i ? *i : 1; k < m->nslots;) {
    uint64_t bits = __atomic_load_n(&rc_root_slots[k >> 6], __ATOMIC_ACQUIRE) & (~0ull << (k & 63));
    if (!bits) {
      k = (k | 63) + 1;
      continue;
    }
    k = (k & ~63u) + (uint32_t)__builtin_ctzll(bits);
    if (k >= m->nslots) break;
    struct rc_hdr *h = rc_mark_live(k);
    if (h && (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED))) {
      *i = k;
      return h;
    }
    k++;
  }
  return NULL;
}

struct rc_hdr *rc_mark_live_or_corrupt(uint32_t i, bool *corrupt)
{
  *corrupt = false;
  struct rc_hdr *x = rc_slot_hdr(i);
  if (!x) return NULL;
  uint64_t bits = __atomic_load_n(&x->bits, __ATOMIC_ACQUIRE);
  if (x->slot != i || !rc_hdr_intact(x, bits)) {
    *corrupt = true;
    return NULL;
  }
  return rc_bits_state(bits) == RC_LIVE && !(rc_bits_flags(bits) & RC_F_INTERNAL) ? x : NULL;
}


/* Blocks the roots reach are done; flag every unmarked block that another
 * unmarked block points into as indirect (self-pointers do not count, so a
 * pure cycle of two or more is all indirect). */
struct classify_run { struct rc_mark *m; const struct rc_hdr *h; };

/* The unmarked blocks [u, e) of block h points into become indirect. */
static void classify_range(void *ctx, uintptr_t u, uintptr_t e)
{
  const struct classify_run *c = ctx;
  struct rc_mark *m = c->m;
  uintptr_t step = rc_opt.unaligned ? 1 : 8;
  uintptr_t p = rc_opt.unaligned ? u : (u + 7) & ~(uintptr_t)7;
  for (; p + 8 <= e; p += step) {
    uintptr_t w;
    memcpy(&w, (const void *)p, sizeof w);
    if (w < rc_heap_lo || w >= rc_heap_hi) continue;
    struct rc_hdr *t = rc_block_of(w);
    if (!t && (t = rc_block_of(w - sizeof(uintptr_t))) != NULL &&
        !op_new0((uintptr_t)rc_hdr_user(t), rc_hdr_size(t), w))
      t = NULL;
    if (t && t != c->h && t->slot < m->nslots && !test(m->marked, t->slot)) test_set(m->indirect, t->slot);
  }
}

/* The list's length at most (4 MiB): it pays where leaks are few beside
 * many freed slots; with millions of leaks (bench/scale.c) their own work
 * outweighs the sweeps it would save, and the list would only add to the
 * check's peak memory. */
#define UNL_MAX ((size_t)1 << 20)

const uint32_t *rc_mark_unmarked_live(const struct rc_mark *m, size_t *n, uint64_t *corrupt)
{
  if (!__atomic_load_n(&m->unl_ready, __ATOMIC_ACQUIRE)) return NULL;
  static const uint32_t none[1];
  *n = m->unl.len;
  *corrupt = m->unl_corrupt;
  return m->unl.len ? (const uint32_t *)m->unl.data : none;
}

void rc_mark_classify(struct rc_mark *m)
{
  __atomic_store_n(&m->unl_ready, false, __ATOMIC_RELEASE);
  m->unl.len = 0;
  m->unl_corrupt = 0;
  bool listed = true;
  for (uint32_t i = rc_mark_next_unmarked(m, 1); i < m->nslots; i = rc_mark_next_unmarked(m, i + 1)) {
    bool corrupt;
    struct rc_hdr *h = rc_mark_live_or_corrupt(i, &corrupt);
    m->unl_corrupt += corrupt;
    if (!h) continue;
    uint32_t *slot = listed && m->unl.len < UNL_MAX ? rc_vec_push(&m->unl) : NULL;
    if (slot) {
      *slot = i;
    } else if (listed) {   /* too many leaks, or out of memory: the later passes sweep for themselves */
      listed = false;
      rc_vec_free(&m->unl);
    }
    uintptr_t u = (uintptr_t)rc_hdr_user(h), e = u + rc_hdr_size(h);
    struct classify_run c = {m, h};
    if (rc_block_runs(u, e, classify_range, &c)) continue;
    classify_range(&c, u, e);
  }
  if (listed) __atomic_store_n(&m->unl_ready, true, __ATOMIC_RELEASE);
}
