/* --watch=SECONDS: a growth sample (retain/watch_sample.c) every SECONDS
 * from a background thread, and the history of the last watch_keep+1
 * samples per tracked series (a root, a top block, an allocation site) in
 * fixed mmap'd tables; after each sample the series are judged (the rule is
 * docs/over-time.md's "Growth: --watch"). Also RC_ASSERT_NO_GROWTH's three
 * samples (reachcheck_growth_sample / _result). Runs in the program (world
 * running): the findings are symbolized only when printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "retain/watch.h"
#include "reachcheck.h"

#define TRACKS 4096        /* tracked series; a new one past this is not tracked */
#define FINDINGS 64
#define FLOOR_BYTES 256    /* net growth over the window below this is noise */
#define FLOOR_PERMILLE 1   /* ... and below 1/1000 of the series' size at the window's start */

enum { K_ROOT = 1, K_BLOCK = 2, K_SITE = 3 };

struct point { uint32_t seq; double t; uint64_t bytes, blocks; };
struct track {
  uint8_t kind;            /* 0 free, K_* */
  bool dead;               /* a tombstone: not seen for a whole window */
  uint64_t key;
  uint32_t last_seq;
  uint32_t add_site;       /* the last site seen adding to it (K_SITE: its biggest stack) */
  uintptr_t site_pc;       /* K_SITE: the site, the call into the allocator */
  struct rc_root root;     /* K_ROOT */
  struct rc_w_block block; /* K_BLOCK */
  bool has_path;
  struct rc_w_path path;
};

static struct {
  double interval;         /* seconds; 0: --watch is off */
  unsigned npts;           /* points per series: watch_keep + 1 */
  pthread_mutex_t mu;      /* everything below */
  bool stopped;
  unsigned seq;
  uint32_t epoch;          /* the allocation epoch the last sample started */
  struct track *tr;
  struct point *pts;       /* TRACKS * npts */
  struct rc_w_sample *smp; /* MAP_SHARED: the forked copy writes it */
  struct rc_w_growth find[FINDINGS];
  size_t nfind;
  rc_watch_after_fn after;
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The forked copy's answer: shared with it, so each process maps its own. */
static struct rc_w_sample *shared_sample(void)
{
  /* cppcheck-suppress invalidFunctionArg ; fd -1 is what MAP_ANONYMOUS takes */
  void *p = mmap(NULL, sizeof(struct rc_w_sample), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  /* cppcheck-suppress memleak ; the mapping is kept for the process's life */
  return p == MAP_FAILED ? NULL : p;
}

/* ---- series ---- */
static uint64_t mix(uint64_t h) { h *= 0x9e3779b97f4a7c15ull; return h ^ (h >> 31); }

static uint64_t root_key(const struct rc_root *r)
{
  uint64_t h = mix(((uint64_t)r->sub << 56) ^ ((uint64_t)(uint32_t)r->thread << 24) ^ (uint64_t)r->part << 16 ^
                   (uint16_t)r->reg);
  return mix(h ^ r->key) | 1;
}

static uint64_t series_key(int kind, uint64_t id) { return mix(mix(id) ^ (uint64_t)kind) | 1; }

/* The series of key (created when absent and there is room), or NULL. */
static struct track *track_get(int kind, uint64_t key)
{
  size_t i = key & (TRACKS - 1), tomb = TRACKS;
  for (size_t n = 0; n < TRACKS; n++, i = (i + 1) & (TRACKS - 1)) {
    struct track *t = &W.tr[i];
    if (!t->kind) break;
    if (t->dead) {
      if (tomb == TRACKS) tomb = i;
      continue;
    }
    if (t->key == key && t->kind == kind) return t;
  }
  if (tomb == TRACKS && (i >= TRACKS || W.tr[i].kind)) return NULL;   /* full */
  struct track *t = &W.tr[tomb != TRACKS ? tomb : i];
  memset(t, 0, sizeof *t);
  t->kind = (uint8_t)kind;
  t->key = key;
  struct point *p = &W.pts[(size_t)(t - W.tr) * W.npts];
  memset(p, 0, W.npts * sizeof *p);
  return t;
}

static void track_note(struct track *t, double now, uint64_t bytes, uint64_t blocks, uint32_t add_site)
{
  struct point *p = &W.pts[(size_t)(t - W.tr) * W.npts + W.seq % W.npts];
  *p = (struct point){W.seq, now, bytes, blocks};
  t->last_seq = W.seq;
  if (add_site) t->add_site = add_site;
}

static void note_path(struct track *t, uintptr_t newest, const struct rc_w_sample *s)
{
  for (uint32_t i = 0; newest && i < s->npaths; i++)
    if (s->paths[i].target == newest) {
      t->path = s->paths[i];
      rc_w_root_fix(&t->path.root);
      t->has_path = true;
    }
}

static void record(const struct rc_w_sample *s, double now)
{
  for (uint32_t i = 0; i < s->nroots; i++) {
    struct track *t = track_get(K_ROOT, root_key(&s->roots[i].root));
    if (!t) continue;
    t->root = s->roots[i].root;
    rc_w_root_fix(&t->root);
    track_note(t, now, s->roots[i].o.bytes, s->roots[i].o.blocks, s->roots[i].o.new_site);
    note_path(t, s->roots[i].o.newest, s);
  }
  for (uint32_t i = 0; i < s->nblocks; i++) {
    const struct rc_w_block *b = &s->blocks[i];
    struct track *t = track_get(K_BLOCK, series_key(K_BLOCK, b->addr ^ (uint64_t)b->stack << 48));
    if (!t) continue;
    t->block = *b;
    for (uint32_t k = 0; k < t->block.nreach; k++) rc_w_root_fix(&t->block.reach[k]);
    track_note(t, now, b->o.bytes, b->o.blocks, b->o.new_site);
    note_path(t, b->o.newest, s);
  }
  for (uint32_t i = 0; i < s->nsites; i++) {
    struct track *t = track_get(K_SITE, series_key(K_SITE, s->sites[i].pc));
    if (!t) continue;
    t->site_pc = s->sites[i].pc;
    track_note(t, now, s->sites[i].bytes, s->sites[i].blocks, s->sites[i].stack);
  }
  /* series not seen for a whole window are forgotten */
  for (size_t i = 0; i < TRACKS; i++)
    if (W.tr[i].kind && !W.tr[i].dead && W.tr[i].last_seq + W.npts <= W.seq) W.tr[i].dead = true;
}

/* ---- judging ---- */
/* Growing: every point of the window present, more bytes than the point
 * before in at least npts-2 of the npts-1 intervals (watch_keep-1 of
 * watch_keep), and a net growth above the noise floor. */
static bool judge(const struct track *t, struct rc_w_growth *g)
{
  const struct point *p = &W.pts[(size_t)(t - W.tr) * W.npts];
  unsigned n = W.npts;
  if (W.seq + 1 < n) return false;
  const struct point *first = &p[(W.seq + 1 - n) % n], *last = &p[W.seq % n];
  unsigned grew = 0;
  for (unsigned k = 0; k < n; k++) {
    uint32_t want = W.seq + 1 - n + k;
    const struct point *q = &p[want % n];
    if (q->seq != want || !q->t) return false;
    if (k && q->bytes > p[(want - 1) % n].bytes) grew++;
  }
  if (grew + 1 < n - 1 || last->bytes <= first->bytes) return false;
  uint64_t net = last->bytes - first->bytes;
  if (net < FLOOR_BYTES || net * 1000 < first->bytes * FLOOR_PERMILLE) return false;
  memset(g, 0, sizeof *g);
  double dt = last->t - first->t;
  g->bytes = last->bytes;
  g->blocks = last->blocks;
  g->samples = n;
  g->grew = grew;
  g->bytes_per_snap = (double)net / (n - 1);
  g->blocks_per_snap = ((double)last->blocks - (double)first->blocks) / (n - 1);
  g->bytes_per_sec = dt > 0 ? (double)net / dt : 0;
  g->blocks_per_sec = dt > 0 ? ((double)last->blocks - (double)first->blocks) / dt : 0;
  return true;
}

static uintptr_t site_pc(uint32_t stack)
{
  const struct rc_stack *st = stack ? rc_depot_get(stack) : NULL;
  return st && st->depth ? st->pc[0] : stack;
}

static int by_rate(const void *a, const void *b)
{
  const struct rc_w_growth *x = a, *y = b;
  if (x->bytes_per_snap != y->bytes_per_snap) return x->bytes_per_snap < y->bytes_per_snap ? 1 : -1;
  return x->kind - y->kind;
}

/* Roots and top blocks first; a growing site is listed only when no
 * growing root or block names it as the site that adds to it. */
static void evaluate(void)
{
  W.nfind = 0;
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < TRACKS && W.nfind < FINDINGS; i++) {
      const struct track *t = &W.tr[i];
      if (!t->kind || t->dead || (t->kind == K_SITE) != (pass == 1)) continue;
      struct rc_w_growth g;
      if (!judge(t, &g)) continue;
      if (t->kind == K_SITE) {
        bool named = false;
        for (size_t k = 0; k < W.nfind; k++) named |= site_pc(W.find[k].site) == t->site_pc;
        if (named) continue;
      }
      g.kind = t->kind;
      g.site = t->add_site;
      if (t->kind == K_ROOT) g.root = t->root;
      if (t->kind == K_BLOCK) {
        g.block = t->block;
        if (t->block.nreach) g.root = t->block.reach[0];
      }
      g.has_path = t->has_path;
      if (t->has_path) g.path = t->path;
      W.find[W.nfind++] = g;
    }
  rc_heapsort(W.find, W.nfind, sizeof W.find[0], by_rate);
}

/* ---- RC_ASSERT_NO_GROWTH: three samples, iterations apart ---- */
static struct {
  pthread_mutex_t mu;
  struct rc_w_sample *s[3];
  uint32_t epoch[3];
  bool have[3];
  pid_t pid;               /* the process that mapped s[] (a forked child maps its own) */
} A = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- the thread ---- */
static void watch_once(void)
{
  pthread_mutex_lock(&W.mu);
  if (W.stopped) {
    pthread_mutex_unlock(&W.mu);
    return;
  }
  uint32_t since = W.epoch;
  W.epoch = rc_epoch_advance();   /* blocks from now on are the next interval's */
  double now = rc_now_ms() / 1000.0;
  if (rc_w_sample_take(W.smp, since) == 0) {
    W.seq++;
    record(W.smp, now);
    evaluate();
    if (rc_opt.verbose)
      rc_log("watch: sample %u: threads stopped %.2f ms, sample %.2f ms (graph and dominators %.2f, top blocks %.2f, "
             "paths %.2f); %u roots, %u top blocks, %u sites, %zu growing",
             W.seq, W.smp->ms_pause, W.smp->ms_total, W.smp->ms_graph, W.smp->ms_blocks, W.smp->ms_paths,
             W.smp->nroots, W.smp->nblocks, W.smp->nsites, W.nfind);
    if (W.after) W.after(W.find, W.nfind, W.seq);
  } else if (rc_opt.verbose) {
    rc_log("watch: sample %u failed (errno %d)", W.seq + 1, errno);
  }
  pthread_mutex_unlock(&W.mu);
}

static void *watch_thread(void *arg)
{
  (void)arg;
  rc_in_runtime++;   /* this thread is reachcheck's: its allocations are internal */
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (;;) {
    double s = floor(W.interval);
    next.tv_sec += (time_t)s;
    next.tv_nsec += (long)((W.interval - s) * 1e9);
    if (next.tv_nsec >= 1000000000) {
      next.tv_sec++;
      next.tv_nsec -= 1000000000;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {}
    if (__atomic_load_n(&W.stopped, __ATOMIC_ACQUIRE)) return NULL;
    watch_once();
    /* a sample longer than the interval: the next one starts a full interval later */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > next.tv_sec || (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec)) next = now;
  }
}

static void start_thread(void)
{
  if (rc_thread_spawn("rc-watch", watch_thread, NULL)) rc_log("watch: cannot start the watch thread; --watch is off");
}

/* A forked child watches itself: its own history from its first sample, its
 * own files (%p). Runs in the child's atfork handler, after the runtime's
 * own (registered earlier, so they run first). */
static void watch_child(void)
{
  pthread_mutex_init(&W.mu, NULL);
  pthread_mutex_init(&A.mu, NULL);
  if (W.stopped) return;
  W.smp = shared_sample();
  if (!W.smp) return;
  memset(W.tr, 0, TRACKS * sizeof *W.tr);
  W.seq = 0;
  W.nfind = 0;
  W.epoch = 0;
  rc_in_runtime++;
  start_thread();
  rc_in_runtime--;
}

static bool tables_init(void)
{
  W.tr = rc_mmap(TRACKS * sizeof *W.tr);
  W.pts = rc_mmap((size_t)TRACKS * W.npts * sizeof *W.pts);
  return W.tr && W.pts;
}


void rc_watch_start(double interval, unsigned keep, rc_watch_after_fn after)
{
  W.interval = interval;
  W.npts = keep + 1;
  W.after = after;
  W.smp = shared_sample();
  if (!W.smp || !tables_init()) rc_die("watch: no memory for its tables");
  pthread_atfork(NULL, NULL, watch_child);
  start_thread();
}

void rc_watch_stop(void)
{
  if (!W.interval) return;
  pthread_mutex_lock(&W.mu);   /* a sample under way ends first */
  __atomic_store_n(&W.stopped, true, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&W.mu);
}

unsigned rc_watch_count(void) { return __atomic_load_n(&W.seq, __ATOMIC_ACQUIRE); }

size_t rc_watch_findings(struct rc_w_growth *out, size_t max, unsigned *nsamples)
{
  if (!W.interval) {
    if (nsamples) *nsamples = 0;
    return 0;
  }
  pthread_mutex_lock(&W.mu);
  size_t n = W.nfind < max ? W.nfind : max;
  memcpy(out, W.find, n * sizeof *out);
  if (nsamples) *nsamples = W.seq;
  pthread_mutex_unlock(&W.mu);
  return n;
}

bool rc_watch_on(void) { return W.interval > 0; }

REACHCHECK_API unsigned reachcheck_watch_count(void) { return rc_watch_count(); }

REACHCHECK_API __attribute__((noinline)) int reachcheck_growth_sample(unsigned phase)
{
  if (phase > 2) return -1;
  pthread_mutex_lock(&A.mu);
  rc_in_runtime++;
  if (A.pid != getpid()) {
    memset(A.s, 0, sizeof A.s);
    A.pid = getpid();
  }
  if (!A.s[phase]) A.s[phase] = shared_sample();
  int ret = -1;
  if (A.s[phase]) {
    if (phase == 0) A.have[1] = A.have[2] = false;
    uint32_t since = phase ? A.epoch[phase - 1] : 0;
    A.epoch[phase] = rc_epoch_advance();
    ret = rc_w_sample_take(A.s[phase], since);
    A.have[phase] = ret == 0;
  }
  rc_in_runtime--;
  pthread_mutex_unlock(&A.mu);
  return ret;
}

/* Bytes of root (kind 1) or top block (kind 2) `like` in sample s; false if absent. */
static bool find_owner(const struct rc_w_sample *s, int kind, const void *like, uint64_t *bytes, uint64_t *blocks)
{
  if (kind == K_ROOT) {
    uint64_t key = root_key(like);
    for (uint32_t i = 0; i < s->nroots; i++)
      if (root_key(&s->roots[i].root) == key) {
        *bytes = s->roots[i].o.bytes;
        *blocks = s->roots[i].o.blocks;
        return true;
      }
    return false;
  }
  const struct rc_w_block *b = like;
  for (uint32_t i = 0; i < s->nblocks; i++)
    if (s->blocks[i].addr == b->addr && s->blocks[i].stack == b->stack) {
      *bytes = s->blocks[i].o.bytes;
      *blocks = s->blocks[i].o.blocks;
      return true;
    }
  return false;
}

/* The text of b's content so far (a memfd under the writer). */
static void owner_message(const struct rc_w_growth *g, double per_iter, double blocks_per_iter, char *msg, size_t len)
{
  int fd = (int)syscall(SYS_memfd_create, "reachcheck-growth", MFD_CLOEXEC);
  if (fd < 0) {
    snprintf(msg, len, "a root grows by %.0f bytes per iteration", per_iter);
    return;
  }
  struct rc_buf b;
  rc_buf_init(&b, fd);
  if (g->kind == K_BLOCK) {
    rc_buf_printf(&b, "the %llu-byte block at 0x%lx allocated at ", (unsigned long long)g->block.size,
                  (unsigned long)g->block.addr);
    rc_stack_format(&b, g->block.stack, RC_STACK_LINE, NULL, 2);
    rc_buf_put(&b, " (reachable from ", 17);
    if (g->block.nreach) rc_root_text(&b, &g->root);
    rc_buf_printf(&b, "%s)", g->block.reach_total > 1 ? " and others" : "");
  } else {
    rc_root_text(&b, &g->root);
  }
  rc_buf_printf(&b, " grows by %.1f bytes per iteration (%.2f blocks)", per_iter, blocks_per_iter);
  if (g->site) {
    rc_buf_put(&b, ", added by ", 11);
    rc_stack_format(&b, g->site, RC_STACK_LINE, NULL, 3);
  }
  rc_buf_flush(&b);
  ssize_t k = pread(fd, msg, len - 1, 0);
  msg[k > 0 ? k : 0] = 0;
  close(fd);
}

/* 1: something grew in both halves (message in msg), 0: nothing, -1: the
 * samples could not be taken. */
REACHCHECK_API __attribute__((noinline)) int reachcheck_growth_result(unsigned long iterations, char *msg, size_t len)
{
  if (msg && len) msg[0] = 0;
  pthread_mutex_lock(&A.mu);
  rc_in_runtime++;
  int ret = -1;
  if (A.have[0] && A.have[1] && A.have[2] && iterations) {
    ret = 0;
    const struct rc_w_sample *s2 = A.s[2];
    double worst = 0;
    struct rc_w_growth g;
    for (uint32_t i = 0; i < s2->nroots + s2->nblocks; i++) {
      bool root = i < s2->nroots;
      const struct rc_w_root *r = root ? &s2->roots[i] : NULL;
      const struct rc_w_block *b = root ? NULL : &s2->blocks[i - s2->nroots];
      const struct rc_w_owner *o = root ? &r->o : &b->o;
      const void *like = root ? (const void *)&r->root : (const void *)b;
      uint64_t b0, b1, k0, k1;
      int kind = root ? K_ROOT : K_BLOCK;
      if (!find_owner(A.s[0], kind, like, &b0, &k0) || !find_owner(A.s[1], kind, like, &b1, &k1)) continue;
      if (!(b1 > b0 && o->bytes > b1)) continue;
      double per = (double)(o->bytes - b0) / (2.0 * (double)iterations);
      if (per <= worst) continue;
      worst = per;
      memset(&g, 0, sizeof g);
      g.kind = kind;
      g.site = o->new_site;
      g.blocks_per_snap = ((double)o->blocks - (double)k0) / (2.0 * (double)iterations);
      if (root) {
        g.root = r->root;
        rc_w_root_fix(&g.root);
      } else {
        g.block = *b;
        for (uint32_t k = 0; k < g.block.nreach; k++) rc_w_root_fix(&g.block.reach[k]);
        if (g.block.nreach) g.root = g.block.reach[0];
      }
      ret = 1;
    }
    if (ret == 1 && msg && len) owner_message(&g, worst, g.blocks_per_snap, msg, len);
  }
  rc_in_runtime--;
  pthread_mutex_unlock(&A.mu);
  return ret;
}
