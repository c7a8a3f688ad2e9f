/* Allocation counters per allocation stack: per-thread tables summed when a
 * profile is taken (see counters.h for the design and its API). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include "base/spinlock.h"
#include "stack/counters.h"
#include "stack/stack.h"

#define MAX_TABS 16384   /* tables ever made: one per thread alive at once */

/* Every thread starts at this table, which never gets a leaf: its first
 * count takes the slow path, which gives the thread a table of its own. */
static struct rc_count_tab empty_tab;
RC_TLS struct rc_thread_hot rc_hot = {.me = {.tab = &empty_tab, .level = RC_LIVE_DOWN_SPANS * RC_LIVE_FLUSH_MIN,
                                              .level_max = (RC_LIVE_DOWN_SPANS + 1) * RC_LIVE_FLUSH_MIN,
                                              .span = RC_LIVE_FLUSH_MIN, .cstack = RC_COUNT_NO_CELL_ID,
                                              .last_guard = UINT32_MAX}};

static struct rc_count_tab *tabs[MAX_TABS];
static uint8_t tab_used[MAX_TABS];   /* 1: owned by a live thread */
static uint32_t ntabs;
/* rc_spinlock (a futex after a short spin): with more threads than CPUs a
 * waiter must not burn the time slice its holder needs. A plain spin lock
 * here, with the table's mmap under it, took 16% of bench/scale.c's run
 * at 4M blocks with 128 threads starting at once on 2 CPUs. */
static rc_spinlock tabs_lock = RC_SPINLOCK_INIT;
/* Frees from signal handlers inside the allocator, and counts of threads
 * that could get no table of their own (MAX_TABS threads alive). */
static struct rc_count_tab shared_tab;
static rc_spinlock shared_leaf_lock = RC_SPINLOCK_INIT;

static struct rc_count_cell *leaf_new(void) { return rc_mmap(RC_COUNT_LEAF_BYTES); }

/* A free table, or a new one (mapped outside the lock). */
static struct rc_count_tab *tab_get(void)
{
  struct rc_count_tab *t = NULL;
  rc_spin_lock(&tabs_lock);
  for (uint32_t i = 0; i < ntabs; i++)
    if (!tab_used[i]) {
      tab_used[i] = 1;
      t = tabs[i];
      break;
    }
  bool full = ntabs >= MAX_TABS;
  rc_spin_unlock(&tabs_lock);
  if (t || full) return t;
  struct rc_count_tab *fresh = rc_mmap(sizeof *fresh);
  if (!fresh) return NULL;
  rc_spin_lock(&tabs_lock);
  if (ntabs < MAX_TABS) {
    tab_used[ntabs] = 1;
    __atomic_store_n(&tabs[ntabs], fresh, __ATOMIC_RELEASE);
    __atomic_store_n(&ntabs, ntabs + 1, __ATOMIC_RELEASE);
    t = fresh;
  }
  rc_spin_unlock(&tabs_lock);
  if (!t) rc_munmap(fresh, sizeof *fresh);
  return t;
}

/* Leaves of the shared table are made under a lock: several threads use it. */
static struct rc_count_cell *shared_leaf(uint32_t stack)
{
  struct rc_count_cell **slot = &shared_tab.leaf[stack >> RC_COUNT_LEAF_BITS];
  struct rc_count_cell *l = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (!l) {
    rc_spin_lock(&shared_leaf_lock);
    l = *slot;
    if (!l && (l = leaf_new()) != NULL) __atomic_store_n(slot, l, __ATOMIC_RELEASE);
    rc_spin_unlock(&shared_leaf_lock);
  }
  return l;
}

static void shared_add(uint32_t stack, uint64_t size, int kind)
{
  struct rc_count_cell *l = shared_leaf(stack);
  if (!l) return;
  uint32_t i = stack & (RC_COUNT_LEAF - 1);
  bool is_free = kind != RC_COUNT_ALLOC;
  __atomic_fetch_add(is_free ? &l[i].frees : &l[i].allocs, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(is_free ? &l[i].free_bytes : &l[i].alloc_bytes, size, __ATOMIC_RELAXED);
  if (kind == RC_COUNT_FREE_TEMP) __atomic_fetch_add(rc_count_temps(&l[i]), 1, __ATOMIC_RELAXED);
}

/* The allocation counted here; the caller (rc_count_alloc/free) adds the
 * live delta. */
void rc_count_slow(uint32_t stack, uint64_t size, int kind)
{
  if (stack >= RC_COUNT_MAX_IDS) return;
  bool is_free = kind != RC_COUNT_ALLOC;
  struct rc_count_tab *t = rc_me.tab;
  if (t == &empty_tab) {
    t = tab_get();
    if (!t) {
      shared_add(stack, size, kind);
      return;
    }
    rc_me.tab = t;
  }
  struct rc_count_cell *l = t->leaf[stack >> RC_COUNT_LEAF_BITS];
  if (!l) {
    l = leaf_new();
    if (!l) {
      shared_add(stack, size, kind);
      return;
    }
    __atomic_store_n(&t->leaf[stack >> RC_COUNT_LEAF_BITS], l, __ATOMIC_RELEASE);
  }
  uint32_t i = stack & (RC_COUNT_LEAF - 1);
  rc_count_add(is_free ? &l[i].frees : &l[i].allocs, 1);
  rc_count_add(is_free ? &l[i].free_bytes : &l[i].alloc_bytes, size);
  if (kind == RC_COUNT_FREE_TEMP) rc_count_add(rc_count_temps(&l[i]), 1);
}

void rc_count_free_async(uint32_t stack, uint64_t size)
{
  if (stack >= RC_COUNT_MAX_IDS) return;
  shared_add(stack, size, RC_COUNT_FREE);
}

/* What a sum reads: every thread's table, then the shared one, each
 * handed to fn (lock-free, as the tables are never unmapped). */
static void each_tab(void (*fn)(const struct rc_count_tab *t, void *ctx), void *ctx)
{
  uint32_t k = __atomic_load_n(&ntabs, __ATOMIC_ACQUIRE);
  for (uint32_t i = 0; i < k; i++) {
    const struct rc_count_tab *t = __atomic_load_n(&tabs[i], __ATOMIC_ACQUIRE);
    if (t) fn(t, ctx);
  }
  fn(&shared_tab, ctx);
}

#define NLEAVES(n) (((n) + RC_COUNT_LEAF - 1) >> RC_COUNT_LEAF_BITS)
/* Leaf li of t (*l) and how many of its cells are below stack id n: 0 for
 * a leaf not mapped. */
static inline uint32_t leaf_cells(const struct rc_count_tab *t, uint32_t n, uint32_t li, struct rc_count_cell **l)
{
  *l = __atomic_load_n(&t->leaf[li], __ATOMIC_ACQUIRE);
  uint32_t base = li << RC_COUNT_LEAF_BITS;
  return !*l ? 0 : n - base < RC_COUNT_LEAF ? n - base : RC_COUNT_LEAF;
}

struct sum_ctx { struct rc_count *out; uint64_t *bytes, *blocks; uint32_t n; };

static void add_tab(const struct rc_count_tab *t, void *arg)
{
  const struct sum_ctx *c = arg;
  struct rc_count_cell *l;
  for (uint32_t li = 0; li < NLEAVES(c->n); li++) {
    struct rc_count *out = c->out + (li << RC_COUNT_LEAF_BITS);
    for (uint32_t i = 0, k = leaf_cells(t, c->n, li, &l); i < k; i++) {
      out[i].allocs += __atomic_load_n(&l[i].allocs, __ATOMIC_RELAXED);
      out[i].alloc_bytes += __atomic_load_n(&l[i].alloc_bytes, __ATOMIC_RELAXED);
      out[i].frees += __atomic_load_n(&l[i].frees, __ATOMIC_RELAXED);
      out[i].free_bytes += __atomic_load_n(&l[i].free_bytes, __ATOMIC_RELAXED);
      out[i].temps += __atomic_load_n(rc_count_temps(&l[i]), __ATOMIC_RELAXED);
    }
  }
}

/* Live bytes and blocks of a cell. */
static inline uint64_t cell_live_bytes(const struct rc_count_cell *c)
{
  return __atomic_load_n(&c->alloc_bytes, __ATOMIC_RELAXED) - __atomic_load_n(&c->free_bytes, __ATOMIC_RELAXED);
}
static inline uint64_t cell_live_blocks(const struct rc_count_cell *c)
{
  return __atomic_load_n(&c->allocs, __ATOMIC_RELAXED) - __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
}

/* The first table visited writes bytes[] and blocks[] (and zeroes the
 * ranges of its missing leaves), the others add to them; every cell's
 * share goes to the totals too. A sum is one pass over the arrays: the
 * memset before it and the totals' pass after it cost python3's peak sums
 * (5k stacks, 515 sums) as much as the adds (bench/RESULTS.md, session 19). */
struct live_ctx { uint64_t *bytes, *blocks; uint32_t n; bool first; uint64_t tb, tk; };

static void live_tab(const struct rc_count_tab *t, void *arg)
{
  struct live_ctx *c = arg;
  struct rc_count_cell *l;
  uint64_t tb = 0, tk = 0;
  for (uint32_t li = 0; li < NLEAVES(c->n); li++) {
    uint32_t base = li << RC_COUNT_LEAF_BITS, k = leaf_cells(t, c->n, li, &l);
    uint64_t *bytes = c->bytes + base, *blocks = c->blocks + base;
    if (c->first && !k) {
      uint32_t m = c->n - base < RC_COUNT_LEAF ? c->n - base : RC_COUNT_LEAF;
      memset(bytes, 0, sizeof *bytes * m);
      memset(blocks, 0, sizeof *blocks * m);
    } else if (c->first) {
      for (uint32_t i = 0; i < k; i++) {
        uint64_t b = cell_live_bytes(&l[i]), k2 = cell_live_blocks(&l[i]);
        bytes[i] = b, blocks[i] = k2;
        tb += b, tk += k2;
      }
    } else {
      for (uint32_t i = 0; i < k; i++) {
        uint64_t b = cell_live_bytes(&l[i]), k2 = cell_live_blocks(&l[i]);
        bytes[i] += b, blocks[i] += k2;
        tb += b, tk += k2;
      }
    }
  }
  c->first = false;
  c->tb += tb, c->tk += tk;
}

void rc_counts_live(uint64_t *bytes, uint64_t *blocks, uint32_t n, uint64_t *total_bytes, uint64_t *total_blocks)
{
  if (n > RC_COUNT_MAX_IDS) n = RC_COUNT_MAX_IDS;
  struct live_ctx c = {.bytes = bytes, .blocks = blocks, .n = n, .first = true};
  each_tab(live_tab, &c);   /* always at least the shared table: every entry is written */
  /* stack id 0 (no stack) is in no total */
  *total_bytes = n ? c.tb - bytes[0] : 0;
  *total_blocks = n ? c.tk - blocks[0] : 0;
}

/* The totals in bytes[0] and blocks[0], every stack id but 0. */
static void total_tab(const struct rc_count_tab *t, void *arg)
{
  const struct sum_ctx *c = arg;
  struct rc_count_cell *l;
  for (uint32_t li = 0; li < NLEAVES(c->n); li++)
    for (uint32_t i = li ? 0 : 1, k = leaf_cells(t, c->n, li, &l); i < k; i++) {   /* not stack id 0 */
      *c->bytes += cell_live_bytes(&l[i]);
      *c->blocks += cell_live_blocks(&l[i]);
    }
}

void rc_counts_live_total(uint64_t *bytes, uint64_t *blocks)
{
  *bytes = *blocks = 0;
  uint32_t n = rc_depot_count() + 1;
  struct sum_ctx c = {.bytes = bytes, .blocks = blocks, .n = n > RC_COUNT_MAX_IDS ? RC_COUNT_MAX_IDS : n};
  each_tab(total_tab, &c);
}

void rc_counts_sum(struct rc_count *out, uint32_t n)
{
  if (n > RC_COUNT_MAX_IDS) n = RC_COUNT_MAX_IDS;
  memset(out, 0, sizeof *out * n);
  struct sum_ctx c = {.out = out, .n = n};
  each_tab(add_tab, &c);
}

void rc_counts_thread_exit(void)
{
  struct rc_count_tab *t = rc_me.tab;
  if (t == &empty_tab) return;
  rc_me.tab = &empty_tab;
  rc_me.cstack = RC_COUNT_NO_CELL_ID;   /* its cell is in the table that goes */
  rc_spin_lock(&tabs_lock);
  for (uint32_t i = 0; i < ntabs; i++)
    if (tabs[i] == t) tab_used[i] = 0;
  rc_spin_unlock(&tabs_lock);
}

void rc_counts_fork_prepare(void) { rc_spin_lock(&tabs_lock); }
void rc_counts_fork_parent(void) { rc_spin_unlock(&tabs_lock); }
void rc_counts_fork_child(void)
{
  /* Only the forking thread lives on: every other table is free (its
   * counts stay in the sums, as an exited thread's do). */
  for (uint32_t i = 0; i < ntabs; i++) tab_used[i] = tabs[i] == rc_me.tab;
  rc_spin_unlock(&tabs_lock);
}

__attribute__((constructor(102))) static void counters_init(void)
{
  rc_in_runtime++;
  pthread_atfork(rc_counts_fork_prepare, rc_counts_fork_parent, rc_counts_fork_child);
  rc_in_runtime--;
}
