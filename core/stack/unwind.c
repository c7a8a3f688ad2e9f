/* Fast x86-64 unwinder for allocation stacks: per return address, a cached
 * CFA rule (CFA = rsp|rbp + off, rbp saved at CFA - 8k or not, RA at CFA - 8)
 * read from the module's unwind tables (stack/cfi.c), plus a per-thread
 * memo of the previous walk. Frames it cannot describe that way make the
 * whole capture fall back to libunwind (stack/depot.c). */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include "stack/unwind_internal.h"

/* ---- the cache: open addressing, linear probing ----
 * key = pc | (gen mod 2^17) << 47 (user-space code lies below 2^47), so one
 * compare checks both. Within a generation a slot is written at most once (only
 * empty or stale slots are filled): a reader that reads the same key before
 * and after the rule has a consistent pair. A flush bumps the generation,
 * which makes every entry stale at once.
 * The table starts at 1024 entries (hashed at random, a fixed 1 MiB table
 * touches a page per return address) and is replaced by one four times as
 * large when half full (this generation's rules move over), up to 2^16
 * entries; then a full table starts over with a new generation. A table's log2 size is in the entry before its
 * first. Old tables stay mapped: a walk may still read the one it started with. */
#define MIN_BITS 10
#define MAX_BITS 16
#define PROBES 8
#define GEN_LIMIT (1u << (64 - PC_BITS))
#define KEY_GEN(g) ((uint64_t)((g) & (GEN_LIMIT - 1)) << PC_BITS)
struct entry { uint64_t key, rule; };      /* key 0: empty */
static struct entry *cache;
static uint32_t cache_gen = 1;             /* never 0 mod GEN_LIMIT */
static uint32_t cache_used, used_gen;      /* under cache_lock */
static rc_spinlock cache_lock = RC_SPINLOCK_INIT;
/* Thread stacks are at most this far below their top (see rc_unwind). */
static uintptr_t span_limit = 12u << 20;

/* The lock is waited for a little only (rc_spin_lock_bounded): holders keep
 * it for a few dozen instructions, but one may be the code a signal handler
 * interrupted. */

static inline uint32_t tab_bits(const struct entry *tab) { return (uint32_t)tab[-1].key; }
/* Nearby return addresses go to nearby entries, so the hot call sites of a
 * function share cache lines (git log: 3685 -> 565 rule misses, user time
 * -5% against a multiplicative hash); the second term folds in the bits
 * above the table's reach. */
static inline uint32_t slot_of(uintptr_t pc, uint32_t bits)
{
  return (uint32_t)((pc >> 2) ^ (pc >> (2 + bits))) & ((1u << bits) - 1);
}
static struct entry *table_new(uint32_t bits)
{
  struct entry *t = rc_mmap(sizeof(struct entry) * ((1u << bits) + 1));
  if (!t) return NULL;
  t[0].key = bits;
  return t + 1;
}

#define RULE_MISS 0xffffffffu   /* special, and neither K_END nor a fallback */
static inline uint32_t entry_rule(const struct entry *e, uint64_t k)
{
  uint32_t rule = (uint32_t)__atomic_load_n(&e->rule, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return __atomic_load_n(&e->key, __ATOMIC_RELAXED) == k ? rule : RULE_MISS;
}
static __attribute__((noinline)) uint32_t lookup_probe(const struct entry *tab, uint64_t want, uint32_t h)
{
  uint32_t mask = (1u << tab_bits(tab)) - 1;
  for (uint32_t i = 1; i < PROBES; i++) {
    const struct entry *e = &tab[(h + i) & mask];
    uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
    if (k == want) return entry_rule(e, k);
  }
  return RULE_MISS;
}
/* The rule cached for pc (< 2^47) in the generation of genhi, or RULE_MISS.
 * The first probe is inline: it is nearly always the hit. */
static inline uint32_t cache_lookup(const struct entry *tab, uint64_t genhi, uintptr_t pc)
{
  uint64_t want = pc | genhi;
  uint32_t h = slot_of(pc, tab_bits(tab));
  const struct entry *e = &tab[h];
  uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
  if (RC_LIKELY(k == want)) return entry_rule(e, k);
  return lookup_probe(tab, want, h);
}

/* Creates the table once; false if it does not exist (yet). Called by the
 * constructor too, so threads do not race for it. */
static bool cache_create(void)
{
  if (__atomic_load_n(&cache, __ATOMIC_ACQUIRE)) return true;
  if (!rc_spin_lock_bounded(&cache_lock, 100000)) return false;
  if (!cache) {
    rc_unwind_verify_from_env();
    struct rlimit rl;
    uintptr_t span = 8u << 20;
    if (!getrlimit(RLIMIT_STACK, &rl)) span = rl.rlim_cur == RLIM_INFINITY ? 1u << 30 : rl.rlim_cur;
    if (span < (8u << 20)) span = 8u << 20;
    if (span > (1u << 30)) span = 1u << 30;
    /* glibc puts static TLS and the descriptor between a thread's stack and tp */
    __atomic_store_n(&span_limit, span + (4u << 20), __ATOMIC_RELAXED);
    __atomic_store_n(&cache, table_new(MIN_BITS), __ATOMIC_RELEASE);
  }
  rc_spin_unlock(&cache_lock);
  return cache != NULL;
}

static void gen_bump_locked(void)
{
  uint32_t g = cache_gen + 1;
  if (!(g & (GEN_LIMIT - 1))) {   /* key generations wrap: forget every entry first */
    if (cache)
      for (uint32_t i = 0; i < 1u << tab_bits(cache); i++) __atomic_store_n(&cache[i].key, 0, __ATOMIC_RELAXED);
    g++;
  }
  __atomic_store_n(&cache_gen, g, __ATOMIC_RELEASE);
}

/* Best effort: a lock that stays busy only means this rule is not cached. */
static void cache_insert(uintptr_t pc, uint32_t rule, uint32_t gen)
{
  if (pc >> PC_BITS || !rc_spin_lock_bounded(&cache_lock, 1000)) return;
  uint32_t cur = __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE);
  if (cur != gen) goto out;   /* flushed since the rule was read */
  if (used_gen != cur) { used_gen = cur; cache_used = 0; }
  uint32_t bits = tab_bits(cache);
  RC_DCHECK(bits >= MIN_BITS && bits <= MAX_BITS && cache_used <= 1u << bits);
  if (cache_used >= (1u << bits) / 2) {   /* keep probe chains short: grow, or start over */
    struct entry *t = bits < MAX_BITS ? table_new(bits + 2) : NULL;
    if (!t) {
      gen_bump_locked();
      goto out;
    }
    /* Move this generation's rules over (the new table is not published
     * yet: plain stores), so growing costs no unwind-rule lookups again. */
    uint32_t used = 0, nmask = (1u << (bits + 2)) - 1;
    for (uint32_t i = 0; i < 1u << bits; i++) {
      uint64_t k = __atomic_load_n(&cache[i].key, __ATOMIC_RELAXED);
      if (!k || (k >> PC_BITS) != (cur & (GEN_LIMIT - 1))) continue;
      uintptr_t kpc = (uintptr_t)(k & ((1ull << PC_BITS) - 1));
      for (uint32_t j = 0, h = slot_of(kpc, bits + 2); j < PROBES; j++) {
        struct entry *e = &t[(h + j) & nmask];
        if (e->key) continue;
        e->rule = cache[i].rule;
        e->key = k;
        used++;
        break;
      }
    }
    __atomic_store_n(&cache, t, __ATOMIC_RELEASE);
    cache_used = used;
    bits += 2;
  }
  uint32_t h = slot_of(pc, bits);
  uint64_t key = pc | KEY_GEN(cur);
  for (int i = 0; i < PROBES; i++) {
    struct entry *e = &cache[(h + (uint32_t)i) & ((1u << bits) - 1)];
    uint64_t k = __atomic_load_n(&e->key, __ATOMIC_RELAXED);
    if (k == key) break;
    if ((k >> PC_BITS) == (cur & (GEN_LIMIT - 1))) continue;
    __atomic_store_n(&e->key, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&e->rule, rule, __ATOMIC_RELAXED);
    __atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
    cache_used++;
    break;
  }
out:
  rc_spin_unlock(&cache_lock);
}

void rc_unwind_flush(void)
{
  rc_spin_lock(&cache_lock);   /* short holders only; a flush from a signal handler would be a dlclose there */
  gen_bump_locked();
  rc_spin_unlock(&cache_lock);
}

static __attribute__((noinline, cold)) uint32_t rule_slow(uintptr_t pc, uint32_t gen)
{
  STAT(ST_MISS);
  uint32_t rule = rc_cfi_rule(pc);
  if (RC_UNLIKELY(rc_unwind_verify) && (!rule || ((rule & R_SPECIAL) && rule != K_END)))
    rc_unwind_note_fallback(pc, rule);
  if (!rule) return R_FALLBACK(FB_NOMODULE);   /* not cached: a module may appear there */
  cache_insert(pc, rule, gen);
  return rule;
}

/* Counted always: libunwind's cost dwarfs the atomic. */
static __attribute__((noinline, cold)) int fallback(uint32_t why)
{
  __atomic_fetch_add(&rc_unwind_stats[ST_FALLBACK], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&rc_unwind_stats[why < ST_N ? why : FB_UNSUPPORTED], 1, __ATOMIC_RELAXED);
  return -1;
}

/* ---- the unwinder ---- */
/* The previous walk of this thread, frame by frame: the state (pc, rsp,
 * rbp) on entry to each frame's rule, whether that rule reads rbp, and the
 * slot rbp was then reloaded from. A walk that starts at the recorded pc and
 * rsp applies the same rules to the same slots, so as long as those slots
 * still hold the recorded return addresses (and rbp is the recorded one
 * where a rule reads it) the recorded frames are the answer: a load and a
 * compare per frame instead of a lookup. Allocation loops repeat whole
 * stacks; others repeat their innermost frames. */
#define MEMO_MAX (RC_MAX_FRAMES + 16)
struct mframe {
  uintptr_t pc, sp, rbp;
  uintptr_t slot;               /* rbp of frame i+1 was read from here (0: kept) | 1 if
                                 * frame i's CFA is rbp-based */
};
struct memo {
  uint32_t gen;                 /* the rules' generation; 0: empty */
  int n;                        /* frames recorded */
  bool closed;                  /* frame n-1 is the outermost (K_END) */
  bool reads_rbp;               /* some frame's CFA is rbp-based */
  struct mframe f[MEMO_MAX];
};
static RC_TLS struct memo memo;
static RC_TLS int memo_busy;       /* a walk is running: a nested one (signal) leaves the memo alone */

/* ---- whole stacks with their depot ids ----
 * The memo answers a walk that repeats the previous one. A loop that
 * allocates from a few call sites in turn (bench/scale.c's three) walks a
 * different stack each time and finds only a suffix there, and then the
 * depot hashes and compares the frames. So a few whole walks are kept with
 * the id the depot gave them: a walk that starts at the same pc and rsp as
 * one of them, where every frame still holds by memo_valid's rule (its
 * return address in its slot, rbp the recorded one where a rule reads it),
 * is that stack, and the id is the answer. Kept for walks that ended at the
 * outermost frame or at max and read at most HIT_WORDS words (16 frames of
 * two each, or 32 frames that compute no CFA from rbp); the oldest entry of
 * its set goes. The entries are found by their first pc and rsp: HIT_SETS
 * sets of HIT_WAYS, the set picked by a hash of both, so a capture compares
 * four keys, not all of them. Captures answered so: python3
 * (PYTHONMALLOC=malloc) 75% with 4 entries, 91% with 16 (scanned whole),
 * 99% with 64; git log -p 75% with 64, 80-87% with 256 (more entries only
 * add 1%).
 * A thread's entries are mmap'd at its first kept stack, not TLS: 148 KiB
 * of static TLS would make pthread_create fail for a 16 KiB stack
 * (PTHREAD_STACK_MIN). An exited thread's block goes to a free list. */
#define HIT_SETS 64
#define HIT_WAYS 4
#define HIT_WORDS 32
/* A kept walk, as the words it read: each frame's return address in its
 * slot, and where a rule computed the CFA from rbp, the rbp it had (loaded
 * from a slot below, or the rbp the walk started with). A new walk from the
 * same pc and rsp that finds every word as recorded makes the same steps
 * (memo_valid's argument), so the check is one list of loads and compares. */
struct hit_chk { uintptr_t addr, want; };
struct hit {
  uint32_t id;
  uint32_t nchk;
  bool rbp0;                    /* the walk's first rbp must be rbp0_want */
  uintptr_t rbp0_want;
  /* One of chk's words, compared before them: where this walk and another
   * kept one from the same pc and rsp first differ (bench/scale.c's three
   * call sites share their first frames and fail there, not 5 words on),
   * else a word that always holds. */
  struct hit_chk first;
  struct hit_chk chk[HIT_WORDS + 1];   /* then a sentinel that never holds */
};
struct hits {
  struct hits *next_free;
  /* every entry's: the rules' and the depot's generations, the frames
   * asked (a keep under others empties the table) */
  uint32_t gen, sgen;
  int max;
  struct hit_key { uintptr_t pc0, sp0; } key[HIT_SETS][HIT_WAYS];   /* of e[s][w], compared first; pc0 0: empty */
  uint8_t next[HIT_SETS];       /* the way of each set to replace */
  struct hit e[HIT_SETS][HIT_WAYS];
};
/* The set of the walks from pc and sp. Return addresses differ in their
 * low bits, and stack pointers by small multiples of 16. */
static inline unsigned hit_set(uintptr_t pc, uintptr_t sp)
{
  return (unsigned)(((pc ^ (sp << 7)) * 0x9e3779b97f4a7c15ull) >> 58) & (HIT_SETS - 1);
}
static const uintptr_t hit_sentinel;   /* the word a kept walk's last check reads, never its value */
static const uintptr_t hit_always;     /* a first check that always holds */
static RC_TLS struct hits *hits;   /* this thread's */
static RC_TLS bool hits_done;      /* the thread is exiting (or no memory): keep no more */
static RC_TLS int last_whole;      /* frames of the last walk if it is one to keep, else 0 */
static struct hits *hits_free;
static rc_spinlock hits_lock = RC_SPINLOCK_INIT;

static struct hits *hits_get(void)
{
  struct hits *h = NULL;
  if (rc_spin_lock_bounded(&hits_lock, 1000)) {
    if ((h = hits_free) != NULL) hits_free = h->next_free;
    rc_spin_unlock(&hits_lock);
  }
  if (h) {   /* another thread's stacks: no key holds (not the 148 KiB of entries) */
    h->gen = 0;   /* never cache_gen: the first keep empties the keys again */
    memset(h->key, 0, sizeof h->key);
  } else {
    h = rc_mmap(sizeof *h);
  }
  return h;
}

void rc_unwind_thread_exit(void)
{
  struct hits *h = hits;
  hits_done = true;
  hits = NULL;
  __asm__ volatile("" ::: "memory");   /* a signal handler's walk no longer reads h */
  if (!h) return;
  rc_spin_lock(&hits_lock);
  h->next_free = hits_free;
  hits_free = h;
  rc_spin_unlock(&hits_lock);
}

/* State of a walk between frames. The walkers are leaves, so their loops
 * keep this in registers; on a cache miss they return, rc_unwind reads the
 * rule (a call into ld.so), applies it, and calls them again. */
struct walk {
  uintptr_t pc, sp, rbp;
  uintptr_t top;             /* stack words lie below top */
  uintptr_t *out, *end;
  int skip;
  uint32_t gen, why;
  const struct entry *tab;
  int j;                     /* walk_rec: frames recorded in the memo */
  int k, old_n;              /* walk_rec: the previous walk's frames [j, old_n) are still in the
                              * memo; k: the first of them that is not below sp */
  uint32_t reads;            /* | of the rules applied (R_CFA_RBP: some read rbp) */
  bool closed;
};
enum { W_DONE = 0, W_FALLBACK = -1, W_MISS = -2, W_NEXT = 1, W_SUFFIX = 2 };

/* Move from the frame of *pc to its caller by `rule`; *slot: where rbp was
 * reloaded from, or 0. */
static inline __attribute__((always_inline)) int apply(uint32_t rule, uintptr_t *pc, uintptr_t *sp,
                                                       uintptr_t *rbp, uintptr_t top, uint32_t *why,
                                                       uintptr_t *slot)
{
  if (RC_UNLIKELY(rule & R_SPECIAL)) {
    if (rule == K_END) return W_DONE;
    if (rule == RULE_MISS) return W_MISS;
    /* libunwind 1.6.2 unw_step: no unwind info and rbp 0 is the outermost
     * frame (glibc 2.36 clears rbp before ld.so's _dl_start_user runs the
     * constructors of libraries, from code without CFI) */
    if (rule == R_FALLBACK(FB_NOINFO) && !*rbp) return W_DONE;
    *why = R_SLOT(rule);
    return W_FALLBACK;
  }
  uintptr_t cfa = ((rule & R_CFA_RBP) ? *rbp : *sp) + R_CFA_OFF(rule);
  /* the new rsp lies above the old one and on the stack */
  if (RC_UNLIKELY(cfa <= *sp || cfa > top)) goto bounds;
  uintptr_t ra = ((const uintptr_t *)cfa)[-1];
  *slot = 0;
  if (rule & R_RBP_SAVED) {
    uintptr_t a = cfa - (uintptr_t)R_SLOT(rule) * 8;
    if (RC_UNLIKELY(a < *sp)) goto bounds;   /* a saved register lies in its frame */
    *rbp = *(const uintptr_t *)a;
    *slot = a;
  }
  *sp = cfa;
  *pc = ra;
  if (RC_UNLIKELY(ra - RA_MIN >= (1ull << PC_BITS) - RA_MIN)) {
    if (ra < RA_MIN) return W_DONE;   /* as libunwind's tdep_trace: the end, or garbage */
    goto bounds;                      /* code above 2^47: not cacheable */
  }
  return W_NEXT;
bounds:
  *why = FB_BOUNDS;
  return W_FALLBACK;
}

/* Emit and unwind frames until done, a fallback, or a cache miss (w is
 * then positioned at the frame that missed, already emitted). No memo: for
 * a walk that interrupted another one. */
static __attribute__((noinline)) int walk(struct walk *w)
{
  uintptr_t pc = w->pc, sp = w->sp, rbp = w->rbp, slot;
  const uintptr_t top = w->top;
  uintptr_t *out = w->out, *const end = w->end;
  const struct entry *const tab = w->tab;
  const uint64_t genhi = KEY_GEN(w->gen);
  int r;
  for (int skip = w->skip; skip > 0; skip--) {
    uint32_t rule = cache_lookup(tab, genhi, pc);
    if (RC_UNLIKELY((r = apply(rule, &pc, &sp, &rbp, top, &w->why, &slot)) != W_NEXT)) {
      if (r == W_MISS) w->skip = skip - 1;
      goto out;
    }
  }
  w->skip = 0;
  for (;;) {
    *out++ = pc;
    if (RC_UNLIKELY(out == end)) { r = W_DONE; break; }
    uint32_t rule = cache_lookup(tab, genhi, pc);
    if (RC_UNLIKELY((r = apply(rule, &pc, &sp, &rbp, top, &w->why, &slot)) != W_NEXT)) break;
  }
out:
  w->pc = pc, w->sp = sp, w->rbp = rbp, w->out = out;
  return r;
}

/* walk() that records each frame in the memo from index w->j on. On
 * W_MISS frame w->j is recorded and emitted; the caller applies its rule,
 * records the step and resumes. */
static __attribute__((noinline)) int walk_rec(struct walk *w)
{
  uintptr_t pc = w->pc, sp = w->sp, rbp = w->rbp, slot;
  const uintptr_t top = w->top;
  uintptr_t *out = w->out, *const end = w->end;
  const struct entry *const tab = w->tab;
  const uint64_t genhi = KEY_GEN(w->gen);
  struct memo *const mo = &memo;
  int j = w->j, skip = w->skip, r, k = w->k;
  const int old_n = w->old_n;
  uint32_t reads = 0;
  for (;;) {
    /* Back on a frame of the previous walk (the same pc at the same rsp):
     * the frames above it may be the same too. unwind_rec checks and
     * splices them in. */
    if (k < old_n) {
      if (k < j) k = j;
      while (k < old_n && mo->f[k].sp < sp) k++;
      if (k < old_n && mo->f[k].sp == sp && mo->f[k].pc == pc) {
        w->pc = pc, w->sp = sp, w->rbp = rbp, w->out = out, w->j = j, w->skip = skip, w->k = k;
        w->reads |= reads;
        return W_SUFFIX;
      }
    }
    RC_DCHECK(j < MEMO_MAX && out < end);   /* skip + max <= MEMO_MAX frames are recorded */
    mo->f[j].pc = pc, mo->f[j].sp = sp, mo->f[j].rbp = rbp;
    if (skip > 0) {
      skip--;
    } else {
      *out++ = pc;
      if (RC_UNLIKELY(out == end)) { w->closed = false; r = W_DONE; break; }
    }
    uint32_t rule = cache_lookup(tab, genhi, pc);
    r = apply(rule, &pc, &sp, &rbp, top, &w->why, &slot);
    if (RC_UNLIKELY(r != W_NEXT)) {
      if (r == W_DONE) { w->closed = rule == K_END; break; }
      if (r == W_MISS) {
        w->pc = pc, w->sp = sp, w->rbp = rbp, w->out = out, w->j = j, w->skip = skip, w->k = k;
        w->reads |= reads;
        return W_MISS;
      }
      return W_FALLBACK;
    }
    reads |= rule;
    mo->f[j++].slot = slot | (rule & R_CFA_RBP ? 1 : 0);
  }
  w->out = out;
  w->j = j + 1;   /* frame j, the last, is recorded */
  w->reads |= reads;
  return r;
}

/* Which recorded frames from `from` on (below lim) still hold for a walk
 * that stands at frame from's pc and rsp with rbp *rbp: frame k+1 holds if
 * frame k does, its return address is still in its slot and, where its CFA
 * is rbp-based, rbp is the recorded one. Returns one past the last frame
 * that holds. With memo.reads_rbp, *rbp becomes the actual rbp of that
 * frame (else memo_rbp_at gives it). The recorded frames lie on this
 * thread's stack below its top: frame from is at the same rsp. */
static inline int memo_valid(int from, uintptr_t *rbp, int lim)
{
  const struct mframe *f = memo.f + from, *const last = memo.f + lim - 1;
  while (f < last && ((const uintptr_t *)f[1].sp)[-1] == f[1].pc) f++;
  if (RC_UNLIKELY(memo.reads_rbp)) {
    uintptr_t r = *rbp;
    const struct mframe *g = memo.f + from;
    for (; g < f; g++) {
      if ((g->slot & 1) && r != g->rbp) break;   /* this step would go elsewhere */
      if (g->slot > 1) r = *(const uintptr_t *)(g->slot & ~(uintptr_t)1);
    }
    f = g;
    *rbp = r;
  }
  return (int)(f - memo.f) + 1;
}

/* The actual rbp in frame k of a walk that holds up to k and started with
 * rbp (where no rule reads rbp the recorded one may differ). */
static uintptr_t memo_rbp_at(int from, int k, uintptr_t rbp)
{
  for (const struct mframe *g = memo.f + from; g < memo.f + k; g++)
    if (g->slot > 1) rbp = *(const uintptr_t *)(g->slot & ~(uintptr_t)1);
  return rbp;
}

/* W_SUFFIX: the walk stands at the frame it would record as w->j, in the
 * state of the previous walk's frame w->k (same pc and rsp, so the same
 * stack). Those of its frames k, k+1, ... that still hold (memo_valid)
 * move to j, j+1, ... and are emitted. W_DONE if that ends the walk (the output is full, or the previous
 * walk's last frame was the outermost); else W_NEXT, with w at the last
 * moved frame (recorded and emitted: its rule comes next). Allocations from
 * different call sites of one function share everything above it. */
static int splice(struct walk *w)
{
  struct mframe *const f = memo.f;
  const int k = w->k, j = w->j;
  uintptr_t r = w->rbp;
  RC_DCHECK(memo_busy && j <= k && k < w->old_n && w->old_n <= MEMO_MAX);
  const int i = memo_valid(k, &r, w->old_n) - 1;   /* frames [k, i] hold */
  if (!memo.reads_rbp) r = memo_rbp_at(k, i, w->rbp);
  const int v = i - k + 1;
  STAT(ST_SPLICE);
  if (RC_UNLIKELY(rc_unwind_verify)) __atomic_fetch_add(&rc_unwind_stats[ST_SPLICED], (uint64_t)v, __ATOMIC_RELAXED);
  if (k != j) memmove(&f[j], &f[k], sizeof *f * (size_t)v);
  for (int m = j; m < j + v; m++) {
    if (m < j + v - 1) w->reads |= f[m].slot & 1 ? R_CFA_RBP : 0;
    if (w->skip > 0) {
      w->skip--;
      continue;
    }
    *w->out++ = f[m].pc;
    if (w->out == w->end) {
      w->closed = false;
      w->j = m + 1;
      return W_DONE;
    }
  }
  if (i + 1 == w->old_n && memo.closed) {
    w->closed = true;
    w->j = j + v;
    return W_DONE;
  }
  w->pc = f[j + v - 1].pc, w->sp = f[j + v - 1].sp, w->rbp = r;
  w->j = j + v - 1;
  w->k = i + 1;
  return W_NEXT;
}

/* The walk that records into the memo from frame w->j on; with resume,
 * frame w->j is already recorded and emitted (or skipped) and its rule is
 * applied first. */
static __attribute__((noinline)) int unwind_rec(struct walk *w, uintptr_t *pcs, bool resume)
{
  uintptr_t slot = 0;
  uint32_t rule;
  int r;
  if (resume) {
    for (int i = 0; i < w->j; i++) w->reads |= memo.f[i].slot & 1 ? R_CFA_RBP : 0;
    goto step;
  }
  for (;;) {
    r = walk_rec(w);
    if (RC_LIKELY(r == W_DONE)) break;
    if (r == W_FALLBACK) goto fail;
    if (r == W_SUFFIX) {
      r = splice(w);
      if (r == W_DONE) break;
      goto step;   /* frame w->j is recorded and emitted: apply its rule */
    }
    rule = rule_slow(w->pc, w->gen);
    if (0) {
    step:
      rule = cache_lookup(w->tab, KEY_GEN(w->gen), w->pc);
      if (rule == RULE_MISS) rule = rule_slow(w->pc, w->gen);
    }
    r = apply(rule, &w->pc, &w->sp, &w->rbp, w->top, &w->why, &slot);
    if (r == W_FALLBACK) goto fail;
    if (r == W_DONE) {
      w->closed = rule == K_END;
      w->j++;
      break;
    }
    w->reads |= rule;
    RC_DCHECK(w->j < MEMO_MAX);
    memo.f[w->j++].slot = slot | (rule & R_CFA_RBP ? 1 : 0);
  }
  RC_DCHECK(memo_busy && w->j <= MEMO_MAX && w->out <= w->end);
  memo.n = w->j;
  memo.closed = w->closed;
  memo.gen = w->gen;
  memo.reads_rbp = (w->reads & R_CFA_RBP) != 0;
  return (int)(w->out - pcs);
fail:
  memo.gen = 0;   /* partly overwritten */
  return fallback(w->why);
}

/* Without the memo: a walk that interrupted another one (signal handler). */
static __attribute__((noinline)) int unwind_plain(struct walk *w, uintptr_t *pcs)
{
  uintptr_t slot;
  for (;;) {
    int r = walk(w);
    if (RC_LIKELY(r == W_DONE)) return (int)(w->out - pcs);
    if (r == W_FALLBACK) return fallback(w->why);
    r = apply(rule_slow(w->pc, w->gen), &w->pc, &w->sp, &w->rbp, w->top, &w->why, &slot);
    if (r == W_DONE) return (int)(w->out - pcs);
    if (r == W_FALLBACK) return fallback(w->why);
  }
}

/* The id of a kept whole stack that the walk from pc, sp and rbp would
 * find again, or 0. */
static inline uint32_t hit_find(int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp, uint32_t gen, uint32_t sgen)
{
  const struct hits *hs = hits;
  if (!hs || hs->gen != gen || hs->sgen != sgen || hs->max != max) return 0;
  const unsigned set = hit_set(pc, sp);
  for (int k = 0; k < HIT_WAYS; k++) {
    if (hs->key[set][k].pc0 != pc || hs->key[set][k].sp0 != sp) continue;
    const struct hit *e = &hs->e[set][k];
    if ((e->rbp0 && rbp != e->rbp0_want) || *(const uintptr_t *)e->first.addr != e->first.want)
      continue;
    /* no bound in the loop: the sentinel after the last word stops it (at
     * bench/scale.c's 14 words a capture, 3 of 8 instructions a word) */
    const struct hit_chk *c = e->chk;
    while (*(const uintptr_t *)c->addr == c->want) c++;
    if (c == e->chk + e->nchk) return e->id;
  }
  return 0;
}

/* Bounds: a glibc thread's descriptor (tp) sits at the top of its stack
 * block (glibc 2.36 allocate_stack, also for user-supplied stacks); the
 * main thread's frames are below __libc_stack_end. Anything else
 * (sigaltstack, coroutine stacks) goes to libunwind. The top of the stack
 * holding sp, or 0. */
static inline uintptr_t stack_top(uintptr_t sp)
{
  uintptr_t tp, top, span = __atomic_load_n(&span_limit, __ATOMIC_RELAXED);
  __asm__("mov %%fs:0, %0" : "=r"(tp));
  if (sp < tp && tp - sp <= span) return tp;
  top = (uintptr_t)__libc_stack_end;
  return sp < top && top - sp <= span ? top : 0;
}

uintptr_t rc_stack_top(uintptr_t sp) { return stack_top(sp); }

/* The walk from the frame of pc (stack pointer sp, rbp as there). */
static int unwind_from(uintptr_t *pcs, int max, int skip, uintptr_t pc, uintptr_t sp, uintptr_t rbp)
{
  if (max <= 0) return 0;
  uintptr_t top = stack_top(sp);
  if (!top) {
    STAT(ST_CAPTURE);
    return fallback(FB_STACK);
  }
  const struct entry *tab = __atomic_load_n(&cache, __ATOMIC_ACQUIRE);
  if (RC_UNLIKELY(!tab)) {
    if (!cache_create()) return fallback(FB_NOCACHE);
    tab = cache;
  }
  uint32_t gen = __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE);
  STAT(ST_CAPTURE);
  if (RC_UNLIKELY(memo_busy || skip + max > MEMO_MAX)) {
    struct walk w = { .pc = pc, .sp = sp, .rbp = rbp, .top = top, .out = pcs, .end = pcs + max,
                      .skip = skip, .gen = gen, .tab = tab };
    return unwind_plain(&w, pcs);
  }
  memo_busy = 1;
  __asm__ volatile("" ::: "memory");   /* the flag is set before the memo is touched */
  int n;
  bool whole;   /* the walk ended at its outermost frame or at max */
  last_whole = 0;
  if (memo.gen == gen && memo.n && memo.f[0].pc == pc && memo.f[0].sp == sp) {
    const int want = skip + max, lim = memo.n < want ? memo.n : want;
    uintptr_t r = rbp;
    const int v = memo_valid(0, &r, lim);   /* frames [0, v) hold */
    uintptr_t *out = pcs;
    for (const struct mframe *f = memo.f + skip, *e = memo.f + v; f < e; f++) *out++ = f->pc;
    if (v == want || (v == memo.n && memo.closed)) {
      n = (int)(out - pcs);
      whole = true;
      goto done;
    }
    /* resume at the last frame that holds, already emitted or skipped */
    struct walk w = { .pc = memo.f[v - 1].pc, .sp = memo.f[v - 1].sp, .top = top, .out = out, .end = pcs + max,
                      .skip = skip > v ? skip - v : 0, .gen = gen, .tab = tab, .j = v - 1,
                      .k = v, .old_n = memo.n };
    w.rbp = memo.reads_rbp ? r : memo_rbp_at(0, v - 1, rbp);
    n = unwind_rec(&w, pcs, true);
  } else {
    struct walk w = { .pc = pc, .sp = sp, .rbp = rbp, .top = top, .out = pcs, .end = pcs + max, .skip = skip,
                      .gen = gen, .tab = tab, .old_n = memo.gen == gen ? memo.n : 0 };
    n = unwind_rec(&w, pcs, false);
  }
  whole = n >= 0 && (n == max || memo.closed);
done:
  /* the memo's frames [0, n) are this walk's */
  if (whole && !skip && n > 0 && n <= HIT_WORDS + 1 && memo.gen == gen && memo.n >= n)
    last_whole = n;
  __asm__ volatile("" ::: "memory");
  memo_busy = 0;
  RC_DCHECK(n <= max);
  return n;
}

__attribute__((noinline)) int rc_unwind(uintptr_t *pcs, int max, int skip)
{
  /* rc_unwind's own frame (forced by __builtin_frame_address) gives the
   * caller's rbp, pc and rsp. */
  const uintptr_t *fp = __builtin_frame_address(0);
  return unwind_from(pcs, max, skip, fp[1], (uintptr_t)(fp + 2), fp[0]);
}

int rc_unwind_at(uintptr_t *pcs, int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp)
{
  return unwind_from(pcs, max, 0, pc, sp, rbp);
}

/* Ahead of unwind_from and its set-up (a large frame, six saved registers,
 * the rule table): at bench/scale.c 16M a third of the allocation side's
 * time was unwind_from answering from kept stacks. No stack bound is looked
 * up: an entry is this thread's, kept from a walk on a stack that stack_top
 * knew (below its top), and starts at the same rsp as this capture, so
 * every word it checks lies in that same stack, which does not move or
 * shrink while the thread lives (15 instructions a capture). */
uint32_t rc_unwind_hit(int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp, uint32_t sgen)
{
  if (!hits || memo_busy) return 0;   /* a walk is under way (this is a signal handler's capture) */
  memo_busy = 1;   /* a signal handler's capture meanwhile keeps no stack over the entries read here */
  __asm__ volatile("" ::: "memory");
  uint32_t id = hit_find(max, pc, sp, rbp, __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE), sgen);
  __asm__ volatile("" ::: "memory");
  memo_busy = 0;
  if (id) STAT(ST_CAPTURE);   /* a miss is counted by the walk that follows */
  return id;
}

void rc_unwind_keep(int max, uintptr_t pc, uintptr_t sp, uint32_t sgen, uint32_t id)
{
  if (!id || memo_busy) return;
  memo_busy = 1;   /* from here no signal handler's walk replaces the memo */
  __asm__ volatile("" ::: "memory");
  const struct mframe *f = memo.f;
  int n = last_whole;
  /* the memo still holds the walk from pc and sp (a signal handler's walk
   * in between would have replaced it) */
  if (!n || f[0].pc != pc || f[0].sp != sp) goto out;
  /* The words the walk read, frame by frame: rules were applied to frames
   * [0, n-1); frame i+1's return address sits below its rsp, and where a
   * step computed the CFA from rbp, rbp was loaded from the slot an earlier
   * step named (the first rbp is no word). At most two a step: a walk of up
   * to 17 frames (the default 16 among them) fits without counting. */
  uint32_t words = 0;
  if (n - 1 > HIT_WORDS / 2) {
    bool loaded = false;
    for (int i = 0; i + 1 < n; i++) {
      words += 1 + ((f[i].slot & 1) && loaded);
      loaded |= f[i].slot > 1;
    }
    if (words > HIT_WORDS) goto out;
  }
  if (RC_UNLIKELY(!hits) && (hits_done || !(hits = hits_get()))) {
    hits_done = true;
    goto out;
  }
  if (hits->gen != memo.gen || hits->sgen != sgen || hits->max != max) {
    memset(hits->key, 0, sizeof hits->key);
    hits->gen = memo.gen, hits->sgen = sgen, hits->max = max;
  }
  const unsigned set = hit_set(pc, sp), k = hits->next[set]++ % HIT_WAYS;
  struct hit *e = &hits->e[set][k];
  hits->key[set][k].pc0 = 0;
  __asm__ volatile("" ::: "memory");
  uintptr_t rbp_from = 0;   /* the slot the current rbp was loaded from; 0: the first rbp */
  uint32_t c = 0;
  e->rbp0 = false;
  for (int i = 0; i + 1 < n; i++) {
    if (f[i].slot & 1) {   /* this step computed the CFA from rbp */
      if (rbp_from) {
        e->chk[c].addr = rbp_from, e->chk[c].want = f[i].rbp, c++;
      } else {
        e->rbp0 = true;
        e->rbp0_want = f[i].rbp;
      }
    }
    if (f[i].slot > 1) rbp_from = f[i].slot & ~(uintptr_t)1;
    e->chk[c].addr = f[i + 1].sp - 8, e->chk[c].want = f[i + 1].pc, c++;
  }
  RC_DCHECK(c <= HIT_WORDS && (n - 1 <= HIT_WORDS / 2 || c == words));
  e->nchk = c;
  e->chk[c].addr = (uintptr_t)&hit_sentinel, e->chk[c].want = ~hit_sentinel;
  e->id = id;
  e->first.addr = (uintptr_t)&hit_always, e->first.want = hit_always;
  /* The other kept walks from pc and sp: the first word where they differ
   * from this one (the same address: the walks agree up to there) is
   * checked first, in this one and in the other if it has none yet. */
  for (unsigned j = 0; j < HIT_WAYS; j++) {
    struct hit *o = &hits->e[set][j];
    if (j == k || hits->key[set][j].pc0 != pc || hits->key[set][j].sp0 != sp) continue;
    uint32_t i = 0, m = c < o->nchk ? c : o->nchk;
    while (i < m && e->chk[i].addr == o->chk[i].addr && e->chk[i].want == o->chk[i].want) i++;
    if (i == m || e->chk[i].addr != o->chk[i].addr) continue;
    if (e->first.addr == (uintptr_t)&hit_always) e->first = e->chk[i];
    if (o->first.addr == (uintptr_t)&hit_always) o->first = o->chk[i];
  }
  hits->key[set][k].sp0 = sp;
  __asm__ volatile("" ::: "memory");
  hits->key[set][k].pc0 = pc;
out:
  last_whole = 0;
  __asm__ volatile("" ::: "memory");
  memo_busy = 0;
}

static void child_after_fork(void)
{
  rc_spin_reset(&cache_lock);
  rc_spin_reset(&hits_lock);
}

__attribute__((constructor)) static void unwind_init(void)
{
  cache_create();
  /* a child forked while another thread held the insert lock would never
   * cache again */
  pthread_atfork(NULL, NULL, child_after_fork);
}
