/* Slabs: blocks up to 2 KiB with their header are objects of 64 KiB Boehm
 * objects of one size class each (heap.h). A thread carves the objects of
 * a small class from a slab of its own at a time, in address order; freed
 * objects a thread's cache has no room for wait on a global list per
 * class. Both under rc_slab_lock, which comes before Boehm's lock and
 * rc_win_lock (heap_internal.h). */
#define _GNU_SOURCE
#include "heap/heap_internal.h"

static uint32_t slab_n = 1;
static void *slab_free[NSMALL];     /* by class: freed objects (user pointers, linked by word 0) */
static uint32_t slab_cur[NSMALL];   /* by class: the slab threads carve from together, 0 none */
/* A thread that has carved PRIVATE_AFTER refills of a class from the
 * shared slab carves the class from a slab of its own (my_cur, 0: none
 * yet), so that what it allocates in a row lies in a row. With one slab
 * per class for every thread, two threads' refills of 32 objects
 * alternated in memory, and the exit check's mark over bench/scale.c built
 * by 2 threads took 2.8x as long (4M blocks: 549 ms, against 203 ms with
 * refills of 1024 objects and 183 ms built by one thread); 16M blocks
 * built by 128 threads ran in 1.9-2.0 s instead of 3.7-4.8. Not from the
 * first refill: a slab of its own costs a thread up to 64 KiB a class it
 * uses, which a thread that allocates little of it should not pay. */
#define PRIVATE_AFTER 64
static RC_TLS uint32_t my_cur[NSMALL];
static RC_TLS uint8_t my_carves[NSMALL];   /* refills carved from slab_cur, up to PRIVATE_AFTER */
/* By class, the slabs exited threads left partly carved, linked through
 * partial_next (indexed by slab id); the next thread to need one carves
 * on. */
static uint32_t partial[NSMALL];
static uint32_t partial_next[MAX_SLABS];

/* A new slab for class cls (objects of cls granules), its pages and slots
 * registered; 0 when Boehm or the tables are out of room (the caller then
 * serves the block as its own Boehm object). rc_slab_lock is held. */
static uint32_t slab_new(size_t cls)
{
  /* Boehm serves an object of more than 2 KiB as whole, page-aligned heap
   * blocks and adds one byte of slop for pointers just past the end:
   * 64 KiB - 1 takes exactly 16 pages. */
  char *mem = boehm_alloc(RC_SLAB_BYTES - 1, false);
  if (!mem) return 0;
  uintptr_t a = (uintptr_t)mem;
  uint32_t w0 = rc_win_get(a), w1 = rc_win_get(a + RC_SLAB_BYTES - 1);
  uint32_t size = (uint32_t)cls << RC_GRANULE_SHIFT, nobj = RC_SLAB_BYTES / size;
  uint32_t nslots = (nobj + RC_SLOT_GROUP - 1) & ~(RC_SLOT_GROUP - 1);
  uint32_t id = slab_n;
  if ((a & (RC_PAGE - 1)) || GC_size(mem) < RC_SLAB_BYTES || !w0 || !w1 || id >= MAX_SLABS) {
    GC_free(mem);
    return 0;
  }
  uint32_t first = __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED);
  do {
    if (first + nslots >= SLOT_RESERVE) { GC_free(mem); return 0; }
  } while (!__atomic_compare_exchange_n(&rc_slot_hwm, &first, first + nslots, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  RC_DCHECK(first % RC_SLOT_GROUP == 0);   /* every range handed out is whole groups */
  slab_n++;
  struct rc_slab *s = &rc_slabs[id];
  s->base = a;
  s->first = first;
  s->carved = 0;
  s->size = (uint16_t)size;
  s->nobj = (uint16_t)nobj;
  s->recip = (uint32_t)((1ull << 32) / size + 1);
  /* the reciprocal finds the object of every byte of the slab, the last
   * byte of the last object included */
  RC_DCHECK(rc_slab_index(s, a + (uintptr_t)nobj * size - 1) == nobj - 1 &&
            rc_slab_index(s, a + (uintptr_t)(nobj - 1) * size) == nobj - 1);
  for (uint32_t g = 0; g < nslots / RC_SLOT_GROUP; g++)
    __atomic_store_n(&rc_slot_slab[first / RC_SLOT_GROUP + g], id, __ATOMIC_RELEASE);
  for (uintptr_t pg = a; pg < a + RC_SLAB_BYTES; pg += RC_PAGE) {
    uint32_t w = pg >> RC_WIN_SHIFT == a >> RC_WIN_SHIFT ? w0 : w1;
    __atomic_store_n(&rc_page_slab[rc_page_index(w, pg)], id, __ATOMIC_RELEASE);
    note_page(w, pg);
  }
  note_bounds(a, a + RC_SLAB_BYTES);
  return id;
}

unsigned rc_slab_refill(size_t cls, unsigned want, void **head)
{
  RC_DCHECK(cls > 0 && cls < NSMALL && want > 0);
  unsigned n = 0;
  heap_lock(&rc_slab_lock, HL_SLAB);
  while (n < want && slab_free[cls]) {
    void *user = slab_free[cls];
    RC_DCHECK(rc_slab_at((uintptr_t)user) && slab_class(rc_slab_at((uintptr_t)user)) == cls);
    slab_free[cls] = *(void **)user;
    *(void **)user = *head;
    *head = user;
    n++;
  }
  while (n < want) {
    bool own = my_carves[cls] >= PRIVATE_AFTER;
    uint32_t *cur = own ? &my_cur[cls] : &slab_cur[cls], id = *cur;
    RC_DCHECK(id < slab_n);
    if (!own) my_carves[cls]++;
    if (!id || rc_slabs[id].carved == rc_slabs[id].nobj) {
      if (own && (id = partial[cls]) != 0) partial[cls] = partial_next[id];
      else id = slab_new(cls);
      if (!id) break;
      *cur = id;
    }
    struct rc_slab *s = &rc_slabs[id];
    RC_DCHECK(slab_class(s) == cls && s->carved < s->nobj);
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
      h->slot = s->first + k;   /* a slab object's slot is its position */
      h->stack = 0;
      uint64_t bits = rc_hdr_pack(0, 1, 0, RC_FREED);
      h->bits = bits | rc_hdr_tag(h, bits);
      char *user = (char *)h + RC_HDR_SIZE;
      RC_DCHECK(j == c - 1 || (char *)*head == user + s->size);   /* the next one up the list is the next in memory */
      *(void **)user = *head;
      *head = user;
    }
    __atomic_store_n(&s->carved, s->carved + c, __ATOMIC_RELEASE);
    n += c;
    /* The next carve's lines, asked for now: the unlock below is a full
     * barrier that waits for these header stores, and on fresh memory
     * each line was a miss (59% of rc_slab_refill at bench/scale.c 16M). */
    uintptr_t from = s->base + (uintptr_t)s->carved * s->size;
    uintptr_t to = s->base + (uintptr_t)(s->carved + c < s->nobj ? s->carved + c : s->nobj) * s->size;
    for (uintptr_t a = from & ~(uintptr_t)63; a < to; a += 64) __builtin_prefetch((const void *)a, 1, 3);
  }
  heap_unlock(&rc_slab_lock, HL_SLAB);
  return n;
}

void rc_slab_put(size_t cls, void *first, void *last)
{
  RC_DCHECK(cls > 0 && cls < NSMALL && rc_slab_at((uintptr_t)first) &&
            slab_class(rc_slab_at((uintptr_t)first)) == cls);
  heap_lock(&rc_slab_lock, HL_SLAB);
  *(void **)last = slab_free[cls];
  slab_free[cls] = first;
  heap_unlock(&rc_slab_lock, HL_SLAB);
}

void rc_slab_thread_exit(void)
{
  heap_lock(&rc_slab_lock, HL_SLAB);
  for (size_t c = 1; c < NSMALL; c++) {
    uint32_t id = my_cur[c];
    if (id && rc_slabs[id].carved < rc_slabs[id].nobj) {
      partial_next[id] = partial[c];
      partial[c] = id;
    }
    my_cur[c] = 0;
    my_carves[c] = 0;
  }
  heap_unlock(&rc_slab_lock, HL_SLAB);
}
