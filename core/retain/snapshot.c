/* Heap snapshots for a running program: stop the threads, fork, resume
 * (the way Android's libmemunreachable does); the forked copy marks, builds
 * the graph and its dominator tree and writes live blocks by allocation
 * site and retained sizes by root as JSON. The copy has only the forking
 * thread while stopped ones may hold Boehm's or libdw's locks, so it never
 * mallocs or symbolizes: frames are written as pc + module + offset (+ the
 * ELF symbol), and `reachcheck diff` / `reachcheck graph` symbolize later.
 * snapshot_signal=SIG: a background thread, woken by an async-signal-safe
 * handler (sem_post), takes the snapshot to snapshot_path; the signal is
 * taken (scanners/signals.c: the program's own handler for it is chained),
 * and every forked child starts its own thread (docs/daemons.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "retain/retain.h"
#include "retain/watch.h"
#include "stack/timeline.h"
#include "reachcheck.h"

#define SITES_PER_ROOT 100

struct snap {
  char path[4096];
  unsigned seq;
  pid_t pid;
  long parent_tid;
  double t0;
  struct rc_rootset rs;
  /* filled in the forked copy */
  struct rc_own own;    /* each block's retaining root (owner.c: the dominator tree's answer) */
  /* The graph and its dominator tree, built only when some block is
   * retained by no single root: blocks[] names the heap blocks that hold
   * that memory. A heap every block of which one root owns costs no tree. */
  struct rc_graph g;
  struct rc_dom d;
  bool have_dom;
  struct rc_site_tab sites;   /* owner 0: live blocks, 1: the reachable ones */
  struct rc_site_tab rsites;  /* owner root + 1; 0: no single root */
  uint64_t live_blocks, live_bytes, reach_blocks, reach_bytes, ign_blocks, ign_bytes;
  bool ok;
  bool fallback;   /* an unwritable path goes to the private file (signal snapshots) */
};

/* ---- in the forked copy ---- */
static void snap_after_mark(void *ctx, struct rc_mark *m)
{
  struct snap *s = ctx;
  /* The ownership pass sums every node by (root + 1, or 0 for no single
   * root; stack) as it colours it, while the header is at hand: that is
   * rsites. A second sweep over every header for them cost a forked copy
   * ~310 ms at bench/scale.c 16M (the copy's first read of a page costs a
   * fault on this VM, docs/boehm.md). */
  if (rc_own_compute(m, &s->rs, &s->own, true)) return;
  if (s->own.shared_blocks)
    s->have_dom = !rc_graph_build(&s->g, m, &s->rs) && !rc_dom_compute(&s->g, &s->d);
  s->rsites = s->own.sites;   /* the copy exits without freeing either */
  if (rc_site_tab_init(&s->sites, 256)) return;
  /* sites, owner 1: the reachable blocks by stack (every node); owner 0:
   * the live ones, those and the leaked */
  for (size_t i = 0; i < s->rsites.cap; i++) {
    const struct rc_site_sum *e = &s->rsites.e[i];
    if (!e->blocks) continue;
    struct rc_site_sum *r = rc_site_add(&s->sites, 1, e->stack);
    if (!r) return;
    r->blocks += e->blocks;
    r->bytes += e->bytes;
    if (!(r = rc_site_add(&s->sites, 0, e->stack))) return;
    r->blocks += e->blocks;
    r->bytes += e->bytes;
    s->reach_blocks += e->blocks;
    s->reach_bytes += e->bytes;
  }
  s->live_blocks = s->reach_blocks;
  s->live_bytes = s->reach_bytes;
  /* the live blocks the mark did not reach: leaked, or roots themselves
   * left out (ld.so's, ignored ones) */
  uint32_t last_stack = UINT32_MAX;
  struct rc_site_sum *el = NULL;
  for (uint32_t i = rc_mark_next_unmarked(m, 1); i < m->nslots; i = rc_mark_next_unmarked(m, i + 1)) {
    struct rc_hdr *h = rc_mark_live(i);
    if (!h) continue;
    uint64_t sz = rc_hdr_size(h);
    if (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED)) {
      s->ign_blocks++;
      s->ign_bytes += sz;
      continue;
    }
    if (!el || h->stack != last_stack) {
      last_stack = h->stack;
      if (!(el = rc_site_add(&s->sites, 0, last_stack))) return;
    }
    el->blocks++;
    el->bytes += sz;
    s->live_blocks++;
    s->live_bytes += sz;
  }
  /* the marked roots themselves */
  struct rc_hdr *h;
  for (uint32_t i = 1; (h = rc_mark_root_block(m, &i)) != NULL; i++) {
    if (!rc_mark_is_marked(m, i)) continue;
    s->ign_blocks++;
    s->ign_bytes += rc_hdr_size(h);
  }
  s->ok = true;
}

static int by_bytes_desc(const void *a, const void *b)
{
  const struct rc_site_sum *x = a, *y = b;
  if (x->owner != y->owner) return x->owner < y->owner ? -1 : 1;
  if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
  if (x->blocks != y->blocks) return x->blocks > y->blocks ? -1 : 1;
  return x->stack < y->stack ? -1 : x->stack > y->stack;
}

struct root_order { uint64_t bytes, blocks; uint32_t root; };
static int root_cmp(const void *a, const void *b)
{
  const struct root_order *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
  if (x->blocks != y->blocks) return x->blocks < y->blocks ? 1 : -1;
  return x->root > y->root ? 1 : x->root < y->root ? -1 : 0;
}

/* Sorted copy of a site table's entries (owner ascending, bytes descending). */
static struct rc_site_sum *sorted_sites(const struct rc_site_tab *t, size_t *n)
{
  size_t k = 0;
  for (size_t i = 0; i < t->cap; i++) k += t->e[i].blocks != 0;
  struct rc_site_sum *a = rc_mmap((k ? k : 1) * sizeof *a);
  if (!a) return NULL;
  k = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->e[i].blocks) a[k++] = t->e[i];
  rc_heapsort(a, k, sizeof *a, by_bytes_desc);
  *n = k;
  return a;
}

static void json_sites(struct rc_buf *b, const struct rc_site_sum *a, size_t from, size_t to, uint64_t blocks, uint64_t bytes)
{
  rc_buf_printf(b, "{\"retained\":{\"blocks\":%llu,\"bytes\":%llu},\"top_sites\":[", (unsigned long long)blocks,
                (unsigned long long)bytes);
  uint64_t rest_blocks = 0, rest_bytes = 0;
  for (size_t i = from; i < to; i++) {
    if (i - from >= SITES_PER_ROOT) {
      rest_blocks += a[i].blocks;
      rest_bytes += a[i].bytes;
      continue;
    }
    rc_buf_printf(b, "%s{\"site\":%u,\"blocks\":%llu,\"bytes\":%llu}", i > from ? "," : "", a[i].stack,
                  (unsigned long long)a[i].blocks, (unsigned long long)a[i].bytes);
  }
  if (rest_blocks)
    rc_buf_printf(b, ",{\"site\":0,\"other_sites\":true,\"blocks\":%llu,\"bytes\":%llu}", (unsigned long long)rest_blocks,
                  (unsigned long long)rest_bytes);
  rc_buf_put(b, "]", 1);
}

static bool write_snapshot(struct snap *s, int fd)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char exe[4096];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[k > 0 ? k : 0] = 0;
  size_t nsites = 0, nrs = 0;
  struct rc_site_sum *sites = sorted_sites(&s->sites, &nsites);
  struct rc_site_sum *rsites = sorted_sites(&s->rsites, &nrs);
  struct root_order *order = rc_mmap(((size_t)s->own.nroots + 1) * sizeof *order);
  size_t *first = rc_mmap(((size_t)s->own.nroots + 2) * sizeof *first);
  if (!sites || !rsites || !order || !first) return false;
  uint64_t shared_blocks = s->own.rblocks[0], shared_bytes = s->own.rbytes[0];
  uint32_t nret = 0;
  for (uint32_t r = 0; r < s->own.nroots; r++) {
    shared_blocks -= s->own.rblocks[r + 1];
    shared_bytes -= s->own.rbytes[r + 1];
    if (!s->own.rblocks[r + 1]) continue;
    order[nret].bytes = s->own.rbytes[r + 1];
    order[nret].blocks = s->own.rblocks[r + 1];
    order[nret++].root = r;
  }
  rc_heapsort(order, nret, sizeof *order, root_cmp);
  /* first[o]: index of owner o's first entry in rsites (nrs: none) */
  for (size_t o = 0; o < (size_t)s->own.nroots + 2; o++) first[o] = nrs;
  for (size_t i = nrs; i-- > 0;) first[rsites[i].owner] = i;

  rc_buf_printf(&b, "{\"tool\":\"reachcheck\",\"format\":\"snapshot\",\"version\":1,\"pid\":%d,\"seq\":%u,"
                    "\"time_ms\":%lld,\"exe\":",
                (int)s->pid, s->seq, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  rc_buf_json_str(&b, exe);
  rc_buf_printf(&b, ",\"summary\":{\"live\":{\"blocks\":%llu,\"bytes\":%llu},\"reachable\":{\"blocks\":%llu,\"bytes\":%llu},"
                    "\"leaked\":{\"blocks\":%llu,\"bytes\":%llu},\"ignored\":{\"blocks\":%llu,\"bytes\":%llu},"
                    "\"shared\":{\"blocks\":%llu,\"bytes\":%llu},\"roots\":%u,\"complete\":%s},\"sites\":[",
                (unsigned long long)s->live_blocks, (unsigned long long)s->live_bytes,
                (unsigned long long)s->reach_blocks, (unsigned long long)s->reach_bytes,
                (unsigned long long)(s->live_blocks - s->reach_blocks), (unsigned long long)(s->live_bytes - s->reach_bytes),
                (unsigned long long)s->ign_blocks, (unsigned long long)s->ign_bytes, (unsigned long long)shared_blocks,
                (unsigned long long)shared_bytes, nret, s->rs.failed ? "false" : "true");
  for (size_t i = 0; i < nsites && sites[i].owner == 0; i++) {
    struct rc_site_sum *r = rc_site_add(&s->sites, 1, sites[i].stack);
    rc_buf_printf(&b, "%s{\"id\":%u,\"blocks\":%llu,\"bytes\":%llu,\"reachable\":{\"blocks\":%llu,\"bytes\":%llu},\"stack\":",
                  i ? "," : "", sites[i].stack, (unsigned long long)sites[i].blocks, (unsigned long long)sites[i].bytes,
                  (unsigned long long)(r ? r->blocks : 0), (unsigned long long)(r ? r->bytes : 0));
    rc_stack_format(&b, sites[i].stack, RC_STACK_JSON_RAW, NULL, 0);
    rc_buf_put(&b, "}", 1);
  }
  rc_buf_put(&b, "],\"retainers\":[", 15);
  for (uint32_t i = 0; i < nret; i++) {
    uint32_t r = order[i].root;
    rc_buf_put(&b, i ? ",{\"root\":" : "{\"root\":", i ? 9 : 8);
    rc_root_json(&b, rc_rootset_at(&s->rs, r), false, -1);
    rc_buf_put(&b, ",", 1);
    size_t lo = first[r + 1], hi = lo;
    while (hi < nrs && rsites[hi].owner == r + 1) hi++;
    rc_buf_printf(&b, "\"retained\":{\"blocks\":%llu,\"bytes\":%llu},\"top_sites\":[", (unsigned long long)order[i].blocks,
                  (unsigned long long)order[i].bytes);
    uint64_t rest_blocks = 0, rest_bytes = 0;
    for (size_t j = lo; j < hi; j++) {
      if (j - lo >= SITES_PER_ROOT) {
        rest_blocks += rsites[j].blocks;
        rest_bytes += rsites[j].bytes;
        continue;
      }
      rc_buf_printf(&b, "%s{\"site\":%u,\"blocks\":%llu,\"bytes\":%llu}", j > lo ? "," : "", rsites[j].stack,
                    (unsigned long long)rsites[j].blocks, (unsigned long long)rsites[j].bytes);
    }
    if (rest_blocks)
      rc_buf_printf(&b, ",{\"site\":0,\"other_sites\":true,\"blocks\":%llu,\"bytes\":%llu}",
                    (unsigned long long)rest_blocks, (unsigned long long)rest_bytes);
    rc_buf_put(&b, "]}", 2);
  }
  rc_buf_put(&b, "],\"shared\":", 11);
  size_t lo = first[0], hi = lo;
  while (hi < nrs && rsites[hi].owner == 0) hi++;
  json_sites(&b, rsites, lo, hi, shared_blocks, shared_bytes);
  rc_buf_put(&b, "}", 1);
  rc_time_json(&b, RC_STACK_JSON_RAW);   /* peak, temporaries, timeline (docs/over-time.md) */
  /* the biggest blocks no single root retains (watch_sample.c); none when
   * the ownership pass found no shared block */
  if (s->have_dom) rc_w_blocks_json(&b, &s->g, &s->d, 20);
  else rc_buf_printf(&b, ",\"blocks\":[],\"blocks_complete\":%s", s->own.shared_blocks ? "false" : "true");
  rc_buf_put(&b, "}\n", 2);
  rc_buf_flush(&b);
  return true;
}

static void snap_in_child(void *ctx, struct rc_result *res)
{
  (void)res;
  struct snap *s = ctx;
  /* the exit status carries errno back: 16 + errno, or 3 for ENOMEM */
  if (!s->ok) _exit(3);
  struct rc_out o;
  if (rc_out_open(&o, s->path, false)) {
    /* a worker that dropped privileges cannot write where its master could:
     * the private 0600 file (base/fileout.c), never for another user's link
     * or file (ELOOP, planted files: tests/base/planted.py) */
    int e = errno;
    if (!s->fallback || (e != EACCES && e != EROFS && e != ENOENT) || rc_out_open_for(&o, s->path, true, s->pid))
      _exit(16 + (e > 0 && e < 200 ? e : EIO));
  }
  rc_timeline_mark();   /* the snapshot's moment is the timeline's last point (this copy's) */
  bool ok = write_snapshot(s, o.fd);
  if (!ok) {
    rc_out_abort(&o);
    _exit(3);
  }
  if (rc_out_commit(&o)) _exit(16 + (errno > 0 && errno < 200 ? errno : EIO));
  if (o.fallback) {
    /* the one line says where; status 4 tells the program it was said */
    rc_log("cannot write snapshot %u to '%s' (%s); wrote it to %s", s->seq, s->path, o.why, o.path);
    _exit(4);
  }
}

/* ---- in the program ---- */
/* *said: the copy wrote to the private file and said so itself. */
static int take(const char *tmpl, unsigned seq, char *path_out, size_t n, bool fallback, bool *said)
{
  if (path_out && n) path_out[0] = 0;
  struct snap *s = rc_rootset_forked_ctx(sizeof *s);
  if (!s) return -1;
  if (rc_path_expand(tmpl && *tmpl ? tmpl : "reachcheck-%p-%n.snap.json", seq, s->path, sizeof s->path) < 0) {
    rc_munmap(s, sizeof *s);
    errno = ENAMETOOLONG;
    return -1;
  }
  if (path_out) snprintf(path_out, n, "%s", s->path);
  s->seq = seq;
  s->pid = getpid();
  s->fallback = fallback;
  struct rc_result res;
  int err = rc_rootset_check_forked(&s->rs, s, snap_after_mark, snap_in_child, &res);
  pid_t child = res.child;
  if (rc_opt.verbose)
    rc_log("snapshot: threads stopped for %.2f ms (stop %.2f ms + fork %.2f ms); the copy writes %s", res.ms_stop + res.ms_mark,
           res.ms_stop, res.ms_mark, s->path);
  int ret = 0, e = 0;
  if (err || child <= 0) {
    ret = -1;
    e = EAGAIN;
  } else {
    int st = 0;
    pid_t w;
    while ((w = waitpid(child, &st, 0)) < 0 && errno == EINTR) {}
    if (w < 0) {
      /* reaped by the program's own SIGCHLD handler, or SIGCHLD ignored */
      if (access(s->path, F_OK)) ret = -1, e = EIO;
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == 4) {
      *said = true;
    } else if (!WIFEXITED(st) || WEXITSTATUS(st)) {
      ret = -1;
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
      e = code == 3 ? ENOMEM : code >= 16 ? code - 16 : EIO;
    }
  }
  rc_rootset_free(&s->rs);
  rc_munmap(s, sizeof *s);
  if (ret) errno = e;
  return ret;
}

int rc_snapshot_take(const char *tmpl, unsigned seq, char *path_out, size_t n)
{
  bool said = false;
  return take(tmpl, seq, path_out, n, false, &said);
}

static unsigned api_seq;

REACHCHECK_API int reachcheck_snapshot(const char *path)
{
  return rc_snapshot_take(path, __atomic_add_fetch(&api_seq, 1, __ATOMIC_RELAXED), NULL, 0);
}

/* ---- snapshot_signal ---- */
static sem_t snap_sem;
static unsigned snap_seq;

static int snap_sig;
static bool in_child;   /* a forked child of the process reachcheck started in */

static void snap_handler_async(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  (void)uc;
  int e = errno;
  sem_post(&snap_sem);
  errno = e;
}

/* Snapshots never overwrite each other: a snapshot_path without %n gets
 * "-%n" before its ".json" (or at its end), and in a forked child one
 * without %p gets "-%p" too: a master and its workers never share a file. */
static void with_seq(const char *path, char *out, size_t n)
{
  bool need_n = !strstr(path, "%n"), need_p = in_child && !strstr(path, "%p");
  size_t len = strlen(path);
  if ((!need_n && !need_p) || len + 8 > n) {
    snprintf(out, n, "%s", path);
    return;
  }
  size_t cut = len >= 5 && !strcmp(path + len - 5, ".json") ? len - 5 : len;
  cut = cut >= 5 && !strncmp(path + cut - 5, ".snap", 5) ? cut - 5 : cut;
  snprintf(out, n, "%.*s%s%s%s", (int)cut, path, need_p ? "-%p" : "", need_n ? "-%n" : "", path + cut);
}

static void *snap_thread(void *arg)
{
  (void)arg;
  rc_in_runtime++;   /* this thread is reachcheck's: its allocations are internal */
  for (;;) {
    if (sem_wait(&snap_sem)) {
      if (errno == EINTR) continue;
      return NULL;
    }
    unsigned seq = ++snap_seq;
    char path[4096], tmpl[4096];
    with_seq(rc_opt.snapshot_path, tmpl, sizeof tmpl);
    bool said = false;
    int r = take(tmpl, seq, path, sizeof path, true, &said);
    if (r == 0 && !said)
      rc_log("snapshot %u written to %s", seq, path);
    else if (r)
      rc_log("snapshot %u to %s failed (errno %d)", seq, path, errno);
  }
}

static int parse_signal(const char *s)
{
  static const struct { const char *name; int sig; } names[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"SYS", SIGSYS},
  };
  if (!strncmp(s, "SIG", 3)) s += 3;
  char *end;
  long v;
  if (*s >= '0' && *s <= '9') {
    v = strtol(s, &end, 10);
    if (*end) return -1;
  } else if (!strncmp(s, "RTMIN", 5) || !strncmp(s, "RTMAX", 5)) {
    long k = 0;
    if (s[5]) {
      if ((s[5] != '+' && s[5] != '-') || !s[6]) return -1;
      k = strtol(s + 5, &end, 10);
      if (*end) return -1;
    }
    v = s[4] == 'N' ? SIGRTMIN + k : SIGRTMAX + k;
    if (v < SIGRTMIN || v > SIGRTMAX) return -1;
  } else {
    v = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      if (!strcmp(s, names[i].name)) v = names[i].sig;
  }
  if (v < 1 || v > SIGRTMAX) return -1;
  /* never: uncatchable, fault signals, the stop signal, Boehm's two */
  if (v == SIGKILL || v == SIGSTOP || v == SIGSEGV || v == SIGBUS || v == SIGILL || v == SIGFPE || v == SIGPWR ||
      v == SIGXCPU || v == rc_stop_signal())
    return -1;
  return (int)v;
}

static void start_thread(void)
{
  if (rc_thread_spawn("rc-snapshot", snap_thread, NULL))
    rc_log("cannot start the snapshot thread: %s gives no snapshot in pid %d", rc_opt.snapshot_signal, (int)getpid());
}

void rc_snapshot_init(void)
{
  if (!rc_opt.snapshot_signal[0]) return;
  int sig = parse_signal(rc_opt.snapshot_signal);
  if (sig < 0) {
    rc_log("bad value for option 'snapshot_signal=%s' (want a catchable signal such as SIGUSR2, not the stop "
           "signal %d)", rc_opt.snapshot_signal, rc_stop_signal());
    _exit(2);
  }
  sem_init(&snap_sem, 0, 0);
  /* taken, not just installed: a handler the program installs later for the
   * same signal is chained after ours (scanners/signals.c) */
  if (rc_signal_take(sig, snap_handler_async)) rc_die("cannot install the snapshot signal handler for signal %d", sig);
  snap_sig = sig;
  start_thread();
}

/* In a forked child (the atfork child handler, runtime/init.c): the thread
 * did not survive the fork, so the signal would only post a semaphore no one
 * waits on. A new thread, a fresh semaphore (a post pending in the parent is
 * the parent's) and numbering from 1; see docs/daemons.md for why starting it
 * here is safe for a child that execs or calls only async-signal-safe code. */
void rc_snapshot_after_fork_child(void)
{
  in_child = true;
  __atomic_store_n(&api_seq, 0, __ATOMIC_RELAXED);
  snap_seq = 0;
  if (!snap_sig || !rc_opt.follow_fork) return;
  sem_init(&snap_sem, 0, 0);
  start_thread();
}
