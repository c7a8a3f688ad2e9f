/* The block table under the tracked heap: set-up (Boehm GC and the
 * reserved tables), address windows, the slot pool, storing a header (its
 * tag, its slot entry, the root bitmap) and the heap's locks. Blocks come
 * from Boehm GC uncollectable objects, each with a 16-byte header and a slot
 * for enumeration (docs/design.md; docs/boehm.md has the measurements
 * behind each choice). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include "heap/heap_internal.h"

uint32_t *rc_slots;
int rc_world_stopped;   /* set by the check while the threads are stopped */
uintptr_t rc_win_base[RC_WIN_MAX];
uint16_t *rc_win_of;    /* address >> RC_WIN_SHIFT -> window number, 0: none yet */
uint64_t *rc_win_pages;
GC_word rc_gc_no_at_init;
static uint32_t win_n = 1;
uint64_t *rc_root_slots;
uint64_t rc_corrupt_seen;
uint32_t *rc_slot_epoch;   /* epoch at allocation, by slot */
uint32_t rc_epoch = 1;
/* Slots 0-31 are never used (0 means "none"), so that every range handed
 * out starts at a multiple of RC_SLOT_GROUP. */
uint32_t rc_slot_hwm = RC_SLOT_GROUP;
uintptr_t rc_heap_lo = UINTPTR_MAX, rc_heap_hi;
RC_TLS int rc_disabled;
struct rc_slab *rc_slabs;
uint32_t *rc_slot_slab;
uint32_t *rc_page_slab;

rc_spinlock rc_slab_lock = RC_SPINLOCK_INIT, rc_pool_lock = RC_SPINLOCK_INIT, rc_win_lock = RC_SPINLOCK_INIT;
#if RC_DEBUG
RC_TLS unsigned rc_heap_held;
#endif

int rc_heap_state;
static uint32_t *free_slots;     /* global pool of released slots */
static uint32_t free_slots_n;
static RC_TLS uint32_t tslots[TSLOTS];
static RC_TLS uint32_t tslots_n;

uint32_t rc_epoch_advance(void) { return __atomic_add_fetch(&rc_epoch, 1, __ATOMIC_ACQ_REL); }

static void silent_warn(char *msg, GC_word arg) { (void)msg; (void)arg; }

#define TABLE_ALIGN ((size_t)2 << 20)   /* the tables' pieces keep huge-page alignment */

/* GC_init counts the CPUs from /proc/stat unless GC_NPROCS is set, and the
 * kernel formats every CPU's and every interrupt's counters for that read:
 * ~20 us of every process's start-up (bench/RESULTS.md, session 18).
 * Boehm reads the variable with getenv, so while GC_init runs environ is a
 * copy of the program's with GC_NPROCS=<the CPUs this process may run on>
 * after its own variables (a GC_NPROCS of the program's comes first and
 * wins); then environ is the program's array again, which never held it.
 * The count only sets whether Boehm's lock spins (markers: 1, above). */
static void boehm_init(void)
{
  char **env = environ;
  size_t n = 0;
  while (env && env[n]) n++;
  static char nprocs[32];
  cpu_set_t cpus;
  int k = sched_getaffinity(0, sizeof cpus, &cpus) ? 0 : CPU_COUNT(&cpus);
  size_t bytes = (n + 2) * sizeof(char *);
  char **copy = k > 0 ? rc_mmap(bytes) : NULL;
  if (!copy) {
    GC_init();
    return;
  }
  snprintf(nprocs, sizeof nprocs, "GC_NPROCS=%d", k);
  if (n) memcpy(copy, env, n * sizeof(char *));
  copy[n] = nprocs;
  environ = copy;
  GC_init();
  environ = env;
  rc_munmap(copy, bytes);
}

void rc_heap_init(void)
{
  int expect = 0;
  if (!__atomic_compare_exchange_n(&rc_heap_state, &expect, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&rc_heap_state, __ATOMIC_ACQUIRE) != 2) __builtin_ia32_pause();
    return;
  }
  rc_in_runtime++;
  /* The tables, reserved (untouched pages cost nothing): one mapping cut in
   * nine, every piece a multiple of 2 MiB, where nine mmaps cost a process
   * ~20 us of its start-up (bench/RESULTS.md, session 18). */
  void **table[] = {(void **)&rc_slots, (void **)&rc_win_of, (void **)&rc_win_pages, (void **)&free_slots,
                    (void **)&rc_slabs, (void **)&rc_slot_slab, (void **)&rc_page_slab, (void **)&rc_slot_epoch,
                    (void **)&rc_root_slots};
  const size_t bytes[] = {sizeof(uint32_t) * (size_t)SLOT_RESERVE, sizeof(uint16_t) << (RC_ADDR_BITS - RC_WIN_SHIFT),
                          (size_t)RC_WIN_MAX * RC_WIN_PAGES / 8, sizeof(uint32_t) * (size_t)SLOT_RESERVE,
                          sizeof(struct rc_slab) * (size_t)MAX_SLABS, sizeof(uint32_t) * (size_t)MAX_SLABS,
                          sizeof(uint32_t) * (size_t)RC_WIN_MAX * RC_WIN_PAGES, sizeof(uint32_t) * (size_t)SLOT_RESERVE,
                          (size_t)SLOT_RESERVE / 8};
  size_t total = 0;
  for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++) total += (bytes[i] + TABLE_ALIGN - 1) & ~(TABLE_ALIGN - 1);
  char *all = rc_mmap(total);
  for (size_t i = 0; i < sizeof bytes / sizeof *bytes; i++) {
    *table[i] = all ? all : rc_mmap(bytes[i]);   /* without one mapping, a mapping each */
    if (!*table[i]) rc_die("cannot reserve the block table");
    if (all) all += (bytes[i] + TABLE_ALIGN - 1) & ~(TABLE_ALIGN - 1);
  }
  /* Order from docs/boehm.md: one marker (no parallel marker threads), keep
   * Boehm's fork handlers, init, disable collection, and allow thread
   * registration, without which Boehm takes no allocation lock at all. */
  rc_ldso_init();
  GC_set_markers_count(1);
  GC_set_handle_fork(1);
  GC_set_warn_proc(silent_warn);
  /* No collection at init: Boehm would mark from every module's data (it
   * never collects for us), ~300 page faults and 0.5 ms per process. */
  GC_set_dont_precollect(1);
  /* The main stack's cool end, from ld.so, so that GC_init does not find
   * it with pthread_getattr_np, which parses /proc/self/maps line by line
   * with sscanf: GC_init took 165-186 us, 111-118 us with it set (a test
   * program on session 16's KVM guest). Boehm never collects for us; where
   * the program collects (rc.libgc_user) every frame of main's lies below
   * __libc_stack_end, and above it are only argv, envp and auxv. The
   * variable is deprecated in favour of GC_set_stackbottom, which wants an
   * initialized collector. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  if (!GC_stackbottom && __libc_stack_end) GC_stackbottom = (char *)__libc_stack_end;
#pragma GCC diagnostic pop
  boehm_init();
  GC_disable();
  rc_gc_no_at_init = rc_gc_no();
  GC_allow_register_threads();
  rc_in_runtime--;
  __atomic_store_n(&rc_heap_state, 2, __ATOMIC_RELEASE);
}

bool rc_heap_ready(void) { return heap_ready(); }

/* ---- slots of single blocks (a slab's slots are its own) ---- */
uint32_t rc_slot_get(void)
{
  RC_DCHECK(tslots_n <= TSLOTS);
  if (RC_LIKELY(tslots_n)) return tslots[--tslots_n];
  heap_lock(&rc_pool_lock, HL_POOL);
  while (free_slots_n && tslots_n < TSLOTS / 2) tslots[tslots_n++] = free_slots[--free_slots_n];
  heap_unlock(&rc_pool_lock, HL_POOL);
  if (!tslots_n) {
    uint32_t base = __atomic_fetch_add(&rc_slot_hwm, SLOT_BATCH, __ATOMIC_RELAXED);
    if (base + SLOT_BATCH >= SLOT_RESERVE) return 0;
    /* slab_new takes whole groups too: this batch is groups of no slab */
    RC_DCHECK(base % RC_SLOT_GROUP == 0 && !rc_slab_of_slot(base) && !rc_slab_of_slot(base + SLOT_BATCH - 1));
    for (uint32_t i = SLOT_BATCH; i-- > 0;) tslots[tslots_n++] = base + i;
  }
  uint32_t s = tslots[--tslots_n];
  RC_DCHECK(s >= RC_SLOT_GROUP && s < rc_slot_hwm && !rc_slab_of_slot(s));
  return s;
}

void rc_slot_put(uint32_t s)
{
  RC_DCHECK(s >= RC_SLOT_GROUP && s < rc_slot_hwm && !rc_slab_of_slot(s));
  __atomic_store_n(&rc_slots[s], 0, __ATOMIC_RELEASE);
  if (RC_UNLIKELY(tslots_n == TSLOTS)) {
    heap_lock(&rc_pool_lock, HL_POOL);
    while (tslots_n > TSLOTS / 2) free_slots[free_slots_n++] = tslots[--tslots_n];
    heap_unlock(&rc_pool_lock, HL_POOL);
  }
  tslots[tslots_n++] = s;
}

void rc_slots_thread_exit(void)
{
  heap_lock(&rc_pool_lock, HL_POOL);
  while (tslots_n) free_slots[free_slots_n++] = tslots[--tslots_n];
  heap_unlock(&rc_pool_lock, HL_POOL);
}

/* ---- locks (their order: heap_internal.h) ---- */
/* The arena takes no lock: the checker allocates from it while the world is
 * stopped. */
void rc_heap_lock_all(void)
{
  heap_lock(&rc_slab_lock, HL_SLAB);
  heap_lock(&rc_pool_lock, HL_POOL);
  heap_lock(&rc_win_lock, HL_WIN);
}
void rc_heap_unlock_all(void)
{
  heap_unlock(&rc_win_lock, HL_WIN);
  heap_unlock(&rc_pool_lock, HL_POOL);
  heap_unlock(&rc_slab_lock, HL_SLAB);
}

/* Boehm's allocator lock, held while the world is stopped: a thread stopped
 * inside GC_malloc or GC_free may leave a block header half-written, and
 * GC_base on it divides by a zero object size (SIGFPE). Not part of
 * rc_heap_lock_all: Boehm's own fork handler takes it (not reentrant). */
void rc_heap_lock_gc(void)
{
#if RC_DEBUG
  RC_DCHECK(rc_heap_held == HL_ALL);   /* only as the world stops, after rc_heap_lock_all */
#endif
  GC_alloc_lock();
}
void rc_heap_unlock_gc(void) { GC_alloc_unlock(); }

void rc_heap_after_fork_child(void)
{
  /* The forking thread's caches are intact; other threads' cached blocks are
   * marked freed and simply stay with Boehm. Locks were held across fork. */
  rc_heap_unlock_all();
}

/* ---- windows ---- */
/* The window of address a, numbered on first use; 0 when all RC_WIN_MAX - 1
 * are taken (the heap spans more than 64 GiB of windows). */
uint32_t rc_win_get(uintptr_t a)
{
  if (RC_UNLIKELY(rc_addr_high(a))) return 0;   /* 5-level paging's upper half: not in the table */
  uintptr_t k = a >> RC_WIN_SHIFT;
  uint32_t w = __atomic_load_n(&rc_win_of[k], __ATOMIC_ACQUIRE);
  if (RC_LIKELY(w)) return w;
  heap_lock(&rc_win_lock, HL_WIN);
  w = rc_win_of[k];
  if (!w && win_n < RC_WIN_MAX) {
    w = win_n++;
    rc_win_base[w] = k << RC_WIN_SHIFT;
    __atomic_store_n(&rc_win_of[k], (uint16_t)w, __ATOMIC_RELEASE);
  }
  heap_unlock(&rc_win_lock, HL_WIN);
  RC_DCHECK(w < RC_WIN_MAX && (!w || rc_win_base[w] == k << RC_WIN_SHIFT));
  return w;
}

/* ---- headers ---- */
void rc_heap_set_flag(struct rc_hdr *h, unsigned flag, bool on)
{
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  RC_DCHECK(rc_hdr_intact(h, bits));   /* the callers found h by rc_block_exact */
  unsigned f = rc_bits_flags(bits);
  f = on ? (f | flag) : (f & ~flag);
  rc_set_bits(h, rc_hdr_pack(rc_bits_size(bits), rc_bits_pad16(bits), f, rc_bits_state(bits)));
}
