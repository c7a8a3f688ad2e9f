/* One leak check: lock the runtime, stop the world from inside a
 * dl_iterate_phdr callback (so ld.so's lock is ours and no thread is stopped
 * while holding it, the trick LeakSanitizer uses), collect roots, mark,
 * classify, aggregate leaks by allocation stack, resume. Symbolization and
 * suppressions run after the world is resumed. */
#define _GNU_SOURCE
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check/mark.h"
#include "symbols/dw.h"

/* From this many slots on a check with a concurrent hook starts the helper
 * thread: below, the hook takes a few milliseconds and a thread's start
 * would cost a noticeable part of them. */
#define HELPER_MIN_SLOTS (1u << 18)

static rc_suppress_fn suppressor;
void rc_check_set_suppressor(rc_suppress_fn fn) { suppressor = fn; }


struct check_ctx {
  struct rc_result *res;
  struct rc_mark mark;
  struct rc_vec maps;
  int mode;
  uint32_t min_epoch;
  const struct rc_check_hooks *hooks;
  int done, err;
  /* leak groups by (stack, kind): open addressing in an mmap'd table, at
   * most half full */
  struct rc_leak_group *tab;
  size_t tab_cap, tab_used;
};

static void root_cb(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct check_ctx *c = ctx;
  enum rc_root_kind kind = r->kind;
  if (kind == RC_ROOT_GLOBAL && !rc_opt.scan_globals) return;
  if (kind == RC_ROOT_STACK && !rc_opt.scan_stacks) return;
  if (kind == RC_ROOT_REGISTER && !rc_opt.scan_registers) return;
  if (kind == RC_ROOT_MAPPING && !rc_opt.scan_mappings) return;
  if (kind == RC_ROOT_TLS && !rc_opt.scan_tls) return;
  c->res->roots++;
  if (c->hooks && c->hooks->root) c->hooks->root(c->hooks->ctx, lo, hi, r);
  rc_mark_range(&c->mark, lo, hi);
}

static struct rc_leak_group *slot_of(struct rc_leak_group *tab, size_t cap, uint32_t stack, int kind)
{
  uint64_t key = ((uint64_t)stack << 1) | (unsigned)kind;
  for (size_t i = (size_t)(key * 0x9e3779b97f4a7c15ull) & (cap - 1);; i = (i + 1) & (cap - 1)) {
    struct rc_leak_group *g = &tab[i];
    if (!g->blocks || (g->stack == stack && g->kind == kind)) return g;
  }
}

/* The group of (stack, kind), made if new (its blocks still 0); NULL
 * without memory. The table starts small and grows fourfold: it was once
 * sized for three groups per depot stack, and python3's 13k stacks made a
 * 6 MiB table whose every page the check then read, a page fault each
 * (14 ms of tests/real's script). */
static struct rc_leak_group *group_of(struct check_ctx *c, uint32_t stack, int kind)
{
  if (RC_UNLIKELY((c->tab_used + 1) * 2 > c->tab_cap)) {
    size_t cap = c->tab_cap ? c->tab_cap * 4 : 1024;
    struct rc_leak_group *t = rc_mmap(cap * sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < c->tab_cap; i++)
      if (c->tab[i].blocks) *slot_of(t, cap, c->tab[i].stack, c->tab[i].kind) = c->tab[i];
    if (c->tab) rc_munmap(c->tab, c->tab_cap * sizeof *c->tab);
    c->tab = t;
    c->tab_cap = cap;
  }
  struct rc_leak_group *g = slot_of(c->tab, c->tab_cap, stack, kind);
  if (!g->blocks) {
    g->stack = stack;
    g->kind = kind;
    c->tab_used++;
  }
  return g;
}

/* The slots collect looks at, in order: every slot, the unmarked ones
 * classify listed (list), or every unmarked one. */
struct slot_iter {
  const struct rc_mark *m;
  bool every;
  const uint32_t *list;
  size_t n, k;
};

/* The slot after i (0: the first); m->nslots past the last. */
static uint32_t slot_next(struct slot_iter *it, uint32_t i)
{
  if (it->list) return it->k < it->n ? it->list[it->k++] : it->m->nslots;
  return it->every ? i + 1 : rc_mark_next_unmarked(it->m, i + 1);
}

static void collect(struct check_ctx *c)
{
  struct rc_mark *m = &c->mark;
  struct rc_result *r = c->res;
  /* Marked blocks were counted while marking. Groups are (stack, kind)
   * pairs: never more than three per depot stack. */
  r->reachable_blocks += m->reach_blocks;
  r->reachable_bytes += m->reach_bytes;
  r->ignored_blocks += m->ign_blocks;
  r->ignored_bytes += m->ign_bytes;
  rc_objects_reset();
  /* only the unmarked slots matter unless reachable blocks are reported
   * too, and of those the ones classify listed as live, when it did */
  bool every = rc_opt.show_reachable || (c->mode & RC_CHECK_ALL_LIVE);
  struct slot_iter it = {.m = m, .every = every};
  uint64_t corrupt_listed = 0;
  if (!every) it.list = rc_mark_unmarked_live(m, &it.n, &corrupt_listed);
  r->corrupt_blocks += corrupt_listed;
  for (uint32_t i = slot_next(&it, 0); i < m->nslots; i = slot_next(&it, i)) {
    /* HEAPCHECK=draconian: a reachable block is a leak too (not an ignored one, not ld.so's) */
    bool live_leak = (c->mode & RC_CHECK_ALL_LIVE) && rc_mark_is_marked(m, i) && rc_mark_live(i) &&
                     !(rc_hdr_flags(rc_mark_live(i)) & (RC_F_IGNORED | RC_F_LDSO));
    if (rc_mark_is_marked(m, i) && !live_leak) {
      if (!rc_opt.show_reachable) continue;
      struct rc_hdr *h = rc_mark_live(i);
      if (h && !(rc_hdr_flags(h) & RC_F_IGNORED)) {
        struct rc_leak_group *g = group_of(c, h->stack, RC_KIND_REACHABLE);
        if (!g) {
          c->err = 1;
          continue;
        }
        g->blocks++;
        g->bytes += rc_hdr_size(h);
      }
      continue;
    }
    bool corrupt;
    struct rc_hdr *h = rc_mark_live_or_corrupt(i, &corrupt);
    if (!h) {
      r->corrupt_blocks += corrupt;
      continue;
    }
    if (c->min_epoch && rc_slot_epoch[i] < c->min_epoch) continue;
    int kind = rc_mark_is_indirect(m, i) ? 1 : 0;
    uint64_t sz = rc_hdr_size(h);
    bool seen = rc_hdr_flags(h) & RC_F_REPORTED;
    if ((c->mode & RC_CHECK_ONLY_NEW) && seen) continue;
    if (live_leak) {
      r->reachable_blocks--;
      r->reachable_bytes -= sz;
    }
    if (rc_opt.report_objects) rc_objects_note(h, kind);
    if (kind) {
      r->indirect_blocks++;
      r->indirect_bytes += sz;
    } else {
      r->direct_blocks++;
      r->direct_bytes += sz;
    }
    struct rc_leak_group *g = group_of(c, h->stack, kind);
    if (!g) {
      c->err = 1;
      continue;
    }
    g->blocks++;
    g->bytes += sz;
    g->is_new = !seen;
    if (c->mode & RC_CHECK_ONLY_NEW) rc_heap_set_flag(h, RC_F_REPORTED, true);
  }
}

static void after_mark_job(void *arg)
{
  struct check_ctx *c = arg;
  c->hooks->after_mark(c->hooks->ctx, &c->mark);
}

/* Roots, mark, classify, aggregate: the part that needs a frozen heap. */
static void analyse(struct check_ctx *c)
{
  if (rc_maps_read(&c->maps) || rc_mark_init(&c->mark, c->hooks && c->hooks->after_mark)) {
    c->err = 1;
    return;
  }
  rc_globals_roots(&c->maps, root_cb, c);
  rc_threads_roots(&c->maps, root_cb, c);
  rc_mappings_roots(&c->maps, root_cb, c);
  rc_regions_roots(&c->maps, root_cb, c);
  /* Blocks that are roots themselves: ld.so's own allocations and blocks
   * the program asked us to ignore. */
  struct rc_hdr *h;
  for (uint32_t i = 1; (h = rc_mark_root_block(&c->mark, &i)) != NULL; i++) rc_mark_block(&c->mark, h);
  /* A hook that reads only the marks runs on the helper's core while this
   * one classifies and aggregates the leaks (at bench/scale.c 16M blocks:
   * ~320 ms of ownership beside ~170 ms of leaks). */
  bool beside = c->hooks && c->hooks->after_mark && c->hooks->concurrent && rc_helper_post(after_mark_job, c);
  if (!(c->mode & RC_CHECK_NO_GROUPS)) rc_mark_classify(&c->mark);   /* the direct/indirect split is only the groups' */
  if (!beside && c->hooks && c->hooks->after_mark) c->hooks->after_mark(c->hooks->ctx, &c->mark);
  if (!(c->mode & RC_CHECK_NO_GROUPS)) collect(c);
  if (beside) rc_helper_join();
  rc_mark_free(&c->mark);
  rc_vec_free(&c->maps);
}

static void unlock_runtime(void)
{
  __atomic_store_n(&rc_world_stopped, 0, __ATOMIC_RELEASE);
  rc_threads_unlock();
  rc_heap_unlock_gc();
  rc_heap_unlock_all();
  rc_depot_unlock();
}

static int check_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)info;
  (void)size;
  struct check_ctx *c = arg;
  if (c->done++) return 1;
  struct rc_result *r = c->res;
  double t0 = rc_now_ms();
  /* No signal handler may run on this thread while it holds the runtime's
   * locks and Boehm's: a handler that calls malloc or free would wait for a
   * lock this thread holds, or that a stopped thread holds. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc_depot_lock();
  rc_heap_lock_all();
  __atomic_store_n(&rc_world_stopped, 1, __ATOMIC_RELEASE);   /* from here on, our allocations use the arena */
  rc_heap_lock_gc();
  rc_threads_lock();
  int n = rc_world_stop();
  r->threads = n < 0 ? 1 : (uint32_t)n + 1;
  double t1 = rc_now_ms();
  r->ms_stop = t1 - t0;
  if (c->mode & RC_CHECK_FORK) {
    /* A raw fork: glibc's would run the atfork handlers, ours included,
     * which take the locks this thread already holds. The child has this
     * thread only, plus every stopped thread's saved registers and stack. */
    pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) {
      rc_in_runtime++;   /* the child never touches Boehm: stopped threads may hold its lock */
      rc_dw_forbid_load();   /* nor loads libdw: a stopped thread may hold ld.so's lock (symbols/dw.h) */
      analyse(c);
      if (c->hooks && c->hooks->in_child) c->hooks->in_child(c->hooks->ctx, r);
      _exit(c->err ? 1 : 0);
    }
    r->child = pid;
    if (pid < 0) c->err = 1;
  } else {
    analyse(c);
  }
  r->ms_mark = rc_now_ms() - t1;
  rc_world_start();
  unlock_runtime();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return 1;
}

static int by_bytes(const void *a, const void *b)
{
  const struct rc_leak_group *x = a, *y = b;
  if (x->kind != y->kind) return x->kind - y->kind;
  if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
  if (x->blocks != y->blocks) return x->blocks < y->blocks ? 1 : -1;
  return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The mark phase leaves copies of block addresses in dead stack slots below
 * rc_check_run's frame. A later check, whose frames reuse that stack, would
 * find them in its own uninitialised locals and keep leaked blocks alive
 * (docs/roots.md, "stale copies": the checker must not add its own). Wipe them. */
__attribute__((noinline)) static void wipe_dead_stack(void)
{
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

int rc_check(struct rc_result *res, int mode)
{
  struct rc_check_req req = {.mode = mode};
  return rc_check_run(&req, res);
}

int rc_check_run(const struct rc_check_req *req, struct rc_result *res)
{
  int mode = req->mode;
  uintptr_t outer = rc_api_sp;
  if (!outer) rc_api_sp = (uintptr_t)__builtin_frame_address(0) + 16;   /* the caller's stack pointer */
  memset(res, 0, sizeof *res);
  rc_vec_init(&res->groups, sizeof(struct rc_leak_group));
  rc_in_runtime++;
  double t0 = rc_now_ms();
  /* Not on the stack: the checking thread's stack is a root, and the mark
   * state holds heap addresses (the address bitmap's base is the lowest
   * heap page): a copy of one that is a block's first byte would keep the
   * block alive. */
  struct check_ctx *c = rc_mmap(sizeof *c);
  if (!c) {
    rc_api_sp = outer;
    rc_in_runtime--;
    return -1;
  }
  c->res = res;
  c->mode = mode;
  c->min_epoch = req->min_epoch;
  c->hooks = req->hooks;
  /* A big heap's check takes a second core for a concurrent hook, started
   * before the world stops (a thread cannot be created while it is). */
  if (rc_opt.check_helper && c->hooks && c->hooks->concurrent && !(mode & RC_CHECK_FORK) &&
      __atomic_load_n(&rc_slot_hwm, __ATOMIC_RELAXED) >= HELPER_MIN_SLOTS)
    rc_helper_start();
  dl_iterate_phdr(check_cb, c);
  wipe_dead_stack();
  for (size_t i = 0; i < c->tab_cap; i++) {
    if (!c->tab[i].blocks) continue;
    struct rc_leak_group *g = rc_vec_push(&res->groups);
    if (g) *g = c->tab[i];
  }
  if (c->tab) rc_munmap(c->tab, c->tab_cap * sizeof *c->tab);
  int err = c->err;
  rc_munmap(c, sizeof *c);
  struct rc_leak_group *g = (struct rc_leak_group *)res->groups.data;
  for (size_t i = 0; i < res->groups.len; i++) {
    if (g[i].kind == RC_KIND_REACHABLE) continue;
    g[i].suppressed_by = suppressor ? suppressor(g[i].stack) : NULL;
    g[i].suppressed = g[i].suppressed_by != NULL;
    if (!g[i].suppressed) continue;
    res->suppressed_blocks += g[i].blocks;
    res->suppressed_bytes += g[i].bytes;
    if (g[i].kind) {
      res->indirect_blocks -= g[i].blocks;
      res->indirect_bytes -= g[i].bytes;
    } else {
      res->direct_blocks -= g[i].blocks;
      res->direct_bytes -= g[i].bytes;
    }
  }
  if (res->groups.len) qsort(g, res->groups.len, sizeof *g, by_bytes);
  res->ms_total = rc_now_ms() - t0;
  rc_api_sp = outer;
  rc_in_runtime--;
  return err ? -1 : 0;
}

void rc_result_free(struct rc_result *res) { rc_vec_free(&res->groups); }
