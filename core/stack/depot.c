/* Stack depot: allocation stacks captured by stack/unwind.c, deduplicated by a
 * lock-free hash table (insert under a lock). Ids are small and stable, so a
 * block header holds a 32-bit id instead of a stack. */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <link.h>
#include <string.h>
#include "stack/stack.h"
#include "stack/unwind.h"

#define MIN_BUCKETS (1u << 10)
#define MAX_BUCKETS (1u << 20)
#define MAX_IDS (1u << 24)

/* hash -> first id. Starts at 4 KiB and grows fourfold whenever the depot
 * holds twice as many stacks as it has buckets: one fixed 4 MiB array, hashed
 * at random, touched a page per stack (1.6 MiB for git log). Chains link
 * through rc_stack.next, always to a smaller id, so a reader still walking a
 * table that was just rehashed ends its walk, at worst without finding its
 * stack, and then looks again under the lock. Old tables stay mapped. */
struct table {
  uint32_t mask;
  uint32_t b[];
};
static struct table *tab;
static struct rc_stack **by_id;      /* id -> stack */
static uint32_t nids = 1;            /* id 0: no stack */
static rc_spinlock depot_lock = RC_SPINLOCK_INIT;
static char *chunk;
static size_t chunk_left;

uint32_t rc_stack_gen;
uint32_t rc_stack_generation(void) { return __atomic_load_n(&rc_stack_gen, __ATOMIC_ACQUIRE); }
uint32_t rc_stack_generation_bump(void) { return __atomic_add_fetch(&rc_stack_gen, 1, __ATOMIC_ACQ_REL); }

void rc_depot_lock(void) { rc_spin_lock(&depot_lock); }
void rc_depot_unlock(void) { rc_spin_unlock(&depot_lock); }

/* Stacks hash with rc_stack_generation(): after a module is unloaded a new
 * library mapped at the same address never aliases an old stack. */

static struct table *table_new(uint32_t n)
{
  struct table *t = rc_mmap(sizeof *t + sizeof(uint32_t) * n);
  if (t) t->mask = n - 1;
  return t;
}

static void grow_locked(void)
{
  uint32_t n = tab->mask + 1;
  if (nids <= 2 * n || n >= MAX_BUCKETS) return;
  struct table *t = table_new(n * 4);
  if (!t) return;   /* longer chains, still correct */
  for (uint32_t id = 1; id < nids; id++) {
    struct rc_stack *s = by_id[id];
    uint32_t b = s->hash & t->mask;
    __atomic_store_n(&s->next, t->b[b], __ATOMIC_RELAXED);
    t->b[b] = id;
  }
  __atomic_store_n(&tab, t, __ATOMIC_RELEASE);
}

static bool depot_init(void)
{
  if (__atomic_load_n(&by_id, __ATOMIC_ACQUIRE)) return true;
  rc_depot_lock();
  if (!by_id) {
    tab = table_new(MIN_BUCKETS);
    struct rc_stack **ids = rc_mmap(sizeof(void *) * MAX_IDS);
    if (tab && ids) __atomic_store_n(&by_id, ids, __ATOMIC_RELEASE);
  }
  rc_depot_unlock();
  return by_id != NULL;
}

/* A sum of independent products (one multiply per pc, no chain through
 * them: a serial mix was 60% of a capture's lookup), each pc rotated by its
 * position so that order counts, then one final mix. Equal hashes are
 * compared in full. */
static uint32_t hash_pcs(const uintptr_t *pc, int n, uint32_t gen)
{
  uint64_t h = 0x9e3779b97f4a7c15ull * (gen + 1);
  for (int i = 0; i < n; i++) {
    uint64_t x = pc[i];
    int r = (i * 7) & 63;
    h += ((x << r) | (x >> ((64 - r) & 63))) * 0xff51afd7ed558ccdull;
  }
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return (uint32_t)h;
}

static struct rc_stack *stack_alloc_locked(int n)
{
  size_t need = (sizeof(struct rc_stack) + sizeof(uintptr_t) * (size_t)n + 7) & ~(size_t)7;
  if (need > chunk_left) {
    chunk = rc_mmap(1 << 20);
    chunk_left = chunk ? 1 << 20 : 0;
    if (!chunk) return NULL;
  }
  struct rc_stack *s = (struct rc_stack *)chunk;
  chunk += need;
  chunk_left -= need;
  return s;
}

/* Are the n frames at a and b the same? Inline, from the innermost frame
 * (where stacks that differ usually differ): libc's memcmp through the PLT
 * was 5% of bench/scale.c's time, whose three call sites alternate. */
static inline bool same_pcs(const uintptr_t *a, const uintptr_t *b, int n)
{
  for (int i = 0; i < n; i++)
    if (a[i] != b[i]) return false;
  return true;
}

/* The last stack this thread captured, and its id. */
static RC_TLS int last_n;
static RC_TLS uint32_t last_gen, last_id;
static RC_TLS uintptr_t last_pc[RC_MAX_FRAMES];
static uint32_t depot_find(const uintptr_t *pc, int n, uint32_t gen);

/* rc_unwind (stack/unwind.c) for the common frames; libunwind for a capture
 * with a frame it cannot describe, and as the reference under
 * RC_UNWIND_VERIFY. */
/* reachcheck's own code: leading frames in it are dropped from every stack,
 * whatever path (malloc, realloc, free diagnostics) led to the capture. */
extern const ElfW(Ehdr) __ehdr_start;
static uintptr_t self_lo, self_hi;

/* From this library's own program headers (the ELF header is mapped at
 * __ehdr_start): no lock, no call out. Every thread that computes it
 * stores the same values. */
static void self_range(void)
{
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
  uintptr_t bias = 0;
  for (int i = 0; i < __ehdr_start.e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) bias = (uintptr_t)&__ehdr_start - ph[i].p_vaddr;
  for (int i = 0; i < __ehdr_start.e_phnum; i++)
    if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
      __atomic_store_n(&self_lo, bias + ph[i].p_vaddr, __ATOMIC_RELAXED);
      __atomic_store_n(&self_hi, bias + ph[i].p_vaddr + ph[i].p_memsz, __ATOMIC_RELEASE);
    }
}

void rc_self_text(uintptr_t *lo, uintptr_t *hi)
{
  if (!__atomic_load_n(&self_hi, __ATOMIC_ACQUIRE)) self_range();
  *lo = __atomic_load_n(&self_lo, __ATOMIC_RELAXED);
  *hi = __atomic_load_n(&self_hi, __ATOMIC_ACQUIRE);
}

uint32_t rc_depot_capture_walk(const struct rc_at *at, int depth, uint32_t gen, uint32_t hit)
{
  uintptr_t pcs[RC_MAX_FRAMES];
  if (RC_UNLIKELY(!self_hi)) self_range();
  const uintptr_t pc = at->fp[1];
  uint32_t id;
  /* hit: a whole stack this thread walked before, walked all the same and
   * checked below with RC_UNWIND_VERIFY */
  int n = rc_unwind_at(pcs, depth, pc, (uintptr_t)(at->fp + 2), at->fp[0]);
  if (RC_UNLIKELY(n < 0 || rc_unwind_verify)) {
    void *buf[RC_MAX_FRAMES + 16];
    rc_unw_prepare();
    int m = unw_backtrace(buf, RC_MAX_FRAMES + 16);
    /* the program's frame: the first with the recorded return address */
    int first = 1;
    while (first < m && first < 16 && (uintptr_t)buf[first] != pc) first++;
    if (first >= m || (uintptr_t)buf[first] != pc) first = 1;   /* not found: drop by address */
    m = m <= first ? 0 : m - first;
    if (m > depth) m = depth;
    if (n >= 0) {
      rc_unwind_verify_check(pcs, n, (const uintptr_t *)(buf + first), m, first - 1);
    } else {
      memcpy(pcs, buf + first, sizeof(uintptr_t) * (size_t)m);
      n = m;
    }
  }
  /* libunwind's frames when the caller's return address was not among
   * them: the runtime's own first */
  const uintptr_t *p = pcs;
  while (n > 0 && p[0] >= self_lo && p[0] < self_hi) p++, n--;
  if (n <= 0) return 0;
  if (!depot_init()) return 0;
  if (RC_UNLIKELY(hit)) rc_unwind_verify_hit(hit, depot_find(p, n, gen));
  /* Allocation loops capture the same stack again and again. */
  if (n == last_n && gen == last_gen && same_pcs(p, last_pc, n)) {
    rc_unwind_keep(depth, pc, (uintptr_t)(at->fp + 2), gen, last_id);
    return last_id;
  }
  id = depot_find(p, n, gen);
  RC_DCHECK(id < __atomic_load_n(&nids, __ATOMIC_ACQUIRE));   /* ids name stacks in the depot */
  if (id) {
    last_n = n, last_gen = gen, last_id = id;
    memcpy(last_pc, p, sizeof(uintptr_t) * (size_t)n);
    rc_unwind_keep(depth, pc, (uintptr_t)(at->fp + 2), gen, id);
  }
  return id;
}

/* Id of the stack pc[0..n) of generation gen, added if new (0: out of memory). */
static uint32_t depot_find(const uintptr_t *pc, int n, uint32_t gen)
{
  uint32_t h = hash_pcs(pc, n, gen);
  const struct table *t = __atomic_load_n(&tab, __ATOMIC_ACQUIRE);
  for (uint32_t id = __atomic_load_n(&t->b[h & t->mask], __ATOMIC_ACQUIRE); id;) {
    RC_DCHECK(id < __atomic_load_n(&nids, __ATOMIC_ACQUIRE));
    const struct rc_stack *s = by_id[id];
    if (s->hash == h && s->depth == (uint32_t)n && s->gen == gen && same_pcs(s->pc, pc, n))
      return id;
    uint32_t next = __atomic_load_n(&s->next, __ATOMIC_RELAXED);
    RC_DCHECK(next < id);   /* chains link to smaller ids: a walk ends */
    id = next;
  }
  rc_depot_lock();
  uint32_t b = h & tab->mask;
  uint32_t id = tab->b[b];
  for (; id; id = by_id[id]->next) {
    RC_DCHECK(id < nids && by_id[id]->next < id);
    const struct rc_stack *s = by_id[id];
    if (s->hash == h && s->depth == (uint32_t)n && s->gen == gen && same_pcs(s->pc, pc, n))
      break;
  }
  if (!id && nids < MAX_IDS) {
    struct rc_stack *s = stack_alloc_locked(n);
    if (s) {
      s->hash = h;
      s->depth = (uint32_t)n;
      s->gen = gen;
      s->next = tab->b[b];
      memcpy(s->pc, pc, sizeof(uintptr_t) * (size_t)n);
      RC_DCHECK(s->next < nids);
      id = nids++;
      by_id[id] = s;
      __atomic_store_n(&tab->b[b], id, __ATOMIC_RELEASE);
      grow_locked();
    }
  }
  rc_depot_unlock();
  return id;
}

const struct rc_stack *rc_depot_get(uint32_t id)
{
  if (!id || !by_id || id >= __atomic_load_n(&nids, __ATOMIC_ACQUIRE)) return NULL;
  return by_id[id];
}

uint32_t rc_depot_count(void) { return nids - 1; }
