/* Internal memory of the checker: mmap-backed arrays and a string pool.
 * The checker never uses the heap it checks, so none of this is ever a root
 * or a block, and the mark phase can grow its stack while the world is stopped. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include "base.h"

/* Address space held back for the checker itself. A program that runs out
 * of memory (RLIMIT_AS, a full machine) may have used every byte by exit;
 * the first mmap or mremap of ours that fails releases this reserve and
 * retries, so the at-exit check and its report still run. */
#define RC_RESERVE (64u << 20)
static void *reserve;
static int reserve_state;   /* 0 not yet taken, 1 held, 2 released */

static bool release_reserve(void)
{
  if (__atomic_exchange_n(&reserve_state, 2, __ATOMIC_ACQ_REL) != 1) return false;
  munmap(reserve, RC_RESERVE);
  return true;
}

static void *raw_mmap(size_t bytes)
{
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t n) { return (n + 4095) & ~(size_t)4095; }

/* The guard that makes this thread's allocations internal (see base.h). */
RC_TLS int rc_in_runtime;

void *rc_mmap(size_t bytes)
{
  int expect = 0;
  if (__atomic_load_n(&reserve_state, __ATOMIC_ACQUIRE) == 0 &&
      __atomic_compare_exchange_n(&reserve_state, &expect, 3, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    reserve = mmap(NULL, RC_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    __atomic_store_n(&reserve_state, reserve == MAP_FAILED ? 2 : 1, __ATOMIC_RELEASE);
  }
  void *p = raw_mmap(bytes);
  if (!p && release_reserve()) p = raw_mmap(bytes);
  return p;
}

/* Cut to a 2 MiB boundary (rc_thp_cut): unaligned, a 3.5 MiB array (the
 * mark bits of 28M slots) would hold no huge page at all. */
void *rc_mmap_dense(size_t bytes)
{
  if (bytes < RC_DENSE_HUGE || !rc_thp_pays()) return rc_mmap(bytes);
  size_t len = page_round(bytes);
  void *p = rc_mmap(len + RC_THP_SLACK);
  return p ? rc_thp_cut(p, len) : rc_mmap(bytes);
}

void rc_munmap(void *p, size_t bytes)
{
  if (p) munmap(p, bytes);
}

void rc_vec_init(struct rc_vec *v, size_t elem)
{
  memset(v, 0, sizeof *v);
  v->elem = elem;
}

/* Grow geometrically with mremap so a vector of 1M roots costs O(log n) syscalls.
 * Elements may move: callers keep indices, not pointers, across pushes. */
void *rc_vec_grow_push(struct rc_vec *v)
{
  if (v->len == v->cap) {
    size_t ncap = v->cap ? v->cap * 2 : (4096 / v->elem ? 4096 / v->elem : 1);
    size_t old = page_round(v->cap * v->elem), nb = page_round(ncap * v->elem);
    void *n = v->data ? mremap(v->data, old, nb, MREMAP_MAYMOVE) : rc_mmap(nb);
    if (n == MAP_FAILED && release_reserve()) n = mremap(v->data, old, nb, MREMAP_MAYMOVE);
    if (n == MAP_FAILED || !n) return NULL;
    v->data = n;
    v->cap = nb / v->elem;
  }
  return v->data + v->elem * v->len++;
}

void rc_vec_free(struct rc_vec *v)
{
  if (v->data) munmap(v->data, page_round(v->cap * v->elem));
  v->data = NULL;
  v->len = v->cap = 0;
}

/* Strings that live as long as the process: module paths, option values. */
static char *pool;
static size_t pool_left;
static rc_spinlock pool_lock = RC_SPINLOCK_INIT;

char *rc_strdup_internal(const char *s)
{
  size_t n = strlen(s) + 1;
  rc_spin_lock(&pool_lock);
  if (n > pool_left) {
    size_t sz = n > 65536 ? page_round(n) : 65536;
    pool = rc_mmap(sz);
    pool_left = pool ? sz : 0;
  }
  char *r = NULL;
  if (pool && n <= pool_left) {
    r = pool;
    memcpy(r, s, n);
    pool += n;
    pool_left -= n;
  }
  rc_spin_unlock(&pool_lock);
  return r ? r : (char *)"?";
}
