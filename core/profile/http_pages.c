/* The endpoint's pages besides the heap profiles: /debug/pprof/threads
 * (every thread's current stack), /debug/pprof/symbol (pprof's
 * symbolization protocol) and /debug/reachcheck/why (the path from a root
 * to a block, core/why.c). Run in the server thread (rc_in_runtime set). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <ucontext.h>
#include "profile/profile.h"
#include "stack/unwind.h"

static const char *base_name(const char *p)
{
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* ---- threads ---- */
#define MAX_THR 4096
struct thr {
  long tid;
  uintptr_t rip, rsp, rbp;
  bool regs;              /* stopped: registers known */
  uintptr_t lo, hi;       /* stack pieces seen, their span */
  int n;
  uintptr_t pcs[RC_MAX_FRAMES];
};
struct thr_ctx {
  long self;
  int n;
  uint32_t gen;
  struct thr *t;          /* MAX_THR, mmap'd */
};

static struct thr *thr_of(struct thr_ctx *c, long tid)
{
  for (int i = 0; i < c->n; i++)
    if (c->t[i].tid == tid) return &c->t[i];
  if (c->n == MAX_THR) return NULL;
  struct thr *t = &c->t[c->n++];
  t->tid = tid;
  return t;
}

static void thr_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  enum rc_root_kind kind = r->kind;
  long thread = r->thread;
  struct thr_ctx *c = ctx;
  if (!thread || thread == c->self || (kind != RC_ROOT_REGISTER && kind != RC_ROOT_STACK)) return;
  struct thr *t = thr_of(c, thread);
  if (!t) return;
  if (kind == RC_ROOT_STACK) {
    if (!t->lo || lo < t->lo) t->lo = lo;
    if (hi > t->hi) t->hi = hi;
    return;
  }
  if (hi - lo != sizeof(uintptr_t)) return;
  uintptr_t v = *(const uintptr_t *)lo;
  if (r->reg == REG_RIP) t->rip = v, t->regs = true;
  else if (r->reg == REG_RSP) t->rsp = v;
  else if (r->reg == REG_RBP) t->rbp = v;
}

/* Frame-pointer walk inside the thread's stack, when the CFA unwinder
 * cannot describe a frame: code built with frame pointers still shows. */
static int fp_walk(const struct thr *t, uintptr_t *pcs, int max)
{
  int n = 0;
  pcs[n++] = t->rip;
  uintptr_t fp = t->rbp;
  while (n < max && fp >= t->rsp && fp >= t->lo && fp + 16 <= t->hi && !(fp & 7)) {
    uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
    const char *path;
    uintptr_t bias;
    if (!ret || !rc_module_lookup(ret, rc_stack_generation(), &path, &bias)) break;
    pcs[n++] = ret;
    if (next <= fp) break;
    fp = next;
  }
  return n;
}

/* Stop the world the way a check does (core/check.c: inside
 * dl_iterate_phdr, reachcheck's locks and Boehm's held, signals blocked),
 * read every thread's registers and unwind its stack, resume. No mark. */
static int thr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)info;
  (void)size;
  struct thr_ctx *c = arg;
  if (c->gen) return 1;
  c->gen = rc_stack_generation();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc_depot_lock();
  rc_heap_lock_all();
  __atomic_store_n(&rc_world_stopped, 1, __ATOMIC_RELEASE);
  rc_heap_lock_gc();
  rc_threads_lock();
  rc_world_stop();
  struct rc_vec maps;
  rc_vec_init(&maps, sizeof(struct rc_map));
  if (!rc_maps_read(&maps)) rc_threads_roots(&maps, thr_root, c);
  for (int i = 0; i < c->n; i++) {
    struct thr *t = &c->t[i];
    if (!t->regs) continue;
    int n = rc_unwind_at(t->pcs, RC_MAX_FRAMES, t->rip, t->rsp, t->rbp);
    t->n = n > 0 ? n : fp_walk(t, t->pcs, RC_MAX_FRAMES);
  }
  rc_vec_free(&maps);
  rc_world_start();
  __atomic_store_n(&rc_world_stopped, 0, __ATOMIC_RELEASE);
  rc_threads_unlock();
  rc_heap_unlock_gc();
  rc_heap_unlock_all();
  rc_depot_unlock();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return 1;
}

static void thread_name(long tid, char *out, size_t n)
{
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t k = fd >= 0 ? read(fd, out, n - 1) : -1;
  if (fd >= 0) close(fd);
  if (k < 0) k = 0;
  while (k > 0 && out[k - 1] == '\n') k--;
  out[k] = 0;
}

static int by_tid(const void *a, const void *b)
{
  const struct thr *x = a, *y = b;
  return x->tid < y->tid ? -1 : x->tid > y->tid;
}

int rc_page_threads(const char *query, struct rc_mbuf *out, const char **ctype)
{
  long debug = rc_query_num(query, "debug", 2);
  if (debug == -2) {
    rc_mbuf_printf(out, "bad parameter: debug takes 0, 1 or 2\n");
    return 400;
  }
  struct thr_ctx c = {.self = (long)syscall(SYS_gettid)};
  c.t = rc_mmap(sizeof *c.t * MAX_THR);
  if (!c.t) {
    rc_mbuf_printf(out, "out of memory\n");
    return 500;
  }
  rc_modules_refresh();
  dl_iterate_phdr(thr_cb, &c);
  rc_heapsort(c.t, (size_t)c.n, sizeof *c.t, by_tid);
  int code = 200;
  if (debug > 0) {
    *ctype = "text/plain; charset=utf-8";
    rc_mbuf_printf(out, "threads of pid %d: %d (the endpoint's own thread is not shown)\n", (int)getpid(), c.n);
    for (int i = 0; i < c.n; i++) {
      char name[64];
      thread_name(c.t[i].tid, name, sizeof name);
      rc_mbuf_printf(out, "\nthread %ld \"%s\"%s\n", c.t[i].tid, name, c.t[i].regs ? "" : ": did not stop, no stack");
      for (int k = 0; k < c.t[i].n; k++) {
        struct rc_frame_info fi;
        rc_symbolize(c.t[i].pcs[k] + (k == 0), c.gen, &fi);
        rc_mbuf_printf(out, "    #%d 0x%lx in %s", k, (unsigned long)c.t[i].pcs[k], fi.function[0] ? fi.function : "?");
        if (fi.file) rc_mbuf_printf(out, " %s:%d", fi.file, fi.line);
        rc_mbuf_printf(out, " (%s+0x%lx)\n", base_name(fi.module), (unsigned long)(fi.offset - (k == 0)));
      }
    }
  } else {
    *ctype = "application/octet-stream";
    struct rc_pp *pp = rc_pp_new();
    struct rc_locctx *lc = rc_mmap(sizeof *lc);
    if (!pp || !lc) {
      code = 500;
    } else {
      lc->pp = pp;
      static const char *const types[1][2] = {{"threads", "count"}};
      rc_pp_sample_types(pp, types, 1, "threads");
      rc_pp_period(pp, "threads", "count", 1);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      rc_pp_times(pp, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
      rc_prof_comments(pp);
      for (int i = 0; i < c.n; i++) {
        uint64_t locs[RC_MAX_FRAMES];
        int nl = rc_prof_locations(lc, c.t[i].pcs, c.t[i].n, c.gen, true, locs);
        char name[64], tid[24];
        thread_name(c.t[i].tid, name, sizeof name);
        snprintf(tid, sizeof tid, "%ld", c.t[i].tid);
        struct rc_pp_label lab[2] = {{"tid", tid, 0}, {"name", name, 0}};
        int64_t one = 1;
        rc_pp_sample(pp, locs, nl, &one, 1, lab, 2);
      }
      struct rc_mbuf raw = {0};
      rc_pp_encode(pp, &raw);
      if (raw.oom || rc_pp_gzip(raw.d, raw.len, out)) code = 500;
      rc_mbuf_free(&raw);
    }
    rc_pp_free(pp);
    rc_munmap(lc, sizeof *lc);
  }
  rc_munmap(c.t, sizeof *c.t * MAX_THR);
  if (code != 200) {
    rc_mbuf_reset(out);
    out->oom = false;
    rc_mbuf_printf(out, "out of memory\n");
  }
  return code;
}

/* ---- symbol: pprof's protocol ---- */
int rc_page_symbol(bool post, const char *body, size_t n, struct rc_mbuf *out, const char **ctype)
{
  *ctype = "text/plain; charset=utf-8";
  if (!post) {   /* pprof asks first whether symbols are served at all */
    rc_mbuf_printf(out, "num_symbols: 1\n");
    return 200;
  }
  uint32_t gen = rc_stack_generation();
  size_t i = 0;
  while (i < n) {
    while (i < n && (body[i] == '+' || isspace((unsigned char)body[i]))) i++;
    if (i == n) break;
    size_t j = i;
    while (j < n && body[j] != '+' && !isspace((unsigned char)body[j])) j++;
    char tok[32] = "";
    size_t tl = j - i;
    char *end = NULL;
    unsigned long long a = 0;
    if (tl < sizeof tok) {
      memcpy(tok, body + i, tl);
      tok[tl] = 0;
      errno = 0;
      a = strtoull(tok, &end, 16);
    }
    if (tl >= sizeof tok || tl < 3 || tok[0] != '0' || (tok[1] | 0x20) != 'x' || !end || *end || errno) {
      rc_mbuf_reset(out);
      rc_mbuf_printf(out, "bad address '%.*s' (want 0x-prefixed hex addresses separated by '+')\n",
                     (int)(tl < 40 ? tl : 40), body + i);
      return 400;
    }
    struct rc_frame_info fi;
    rc_symbolize((uintptr_t)a + 1, gen, &fi);   /* the address itself, not a return address's call */
    if (fi.function[0]) rc_mbuf_printf(out, "%#llx %s\n", a, fi.function);
    i = j;
  }
  return 200;
}

/* ---- why ---- */
struct why_page {
  struct rc_rootset rs;
  uint8_t *want_stacks;   /* site=: stack ids with a frame named so */
  uint32_t nstacks;
  uint32_t slot;          /* addr=: the block's slot */
  struct rc_hdr *h;
  struct rc_why_skip skip;
  struct rc_vec out;      /* struct rc_why */
  uint64_t leaked_blocks, leaked_bytes, matched;
  int state;              /* -1 failed, 0 unreachable, 1 paths, 2 a root itself */
};

static void why_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct why_page *w = ctx;
  rc_rootset_range(&w->rs, lo, hi, r);
}

static void why_after_mark(void *ctx, struct rc_mark *m)
{
  struct why_page *w = ctx;
  uint8_t *want = rc_mmap(m->nslots / 8 + 1);
  struct rc_graph g;
  memset(&g, 0, sizeof g);
  if (!want) {
    w->state = -1;
    return;
  }
  bool any = false;
  if (w->h) {
    if (rc_mark_is_marked(m, w->slot) && rc_mark_live(w->slot) == w->h) {
      if (rc_hdr_flags(w->h) & (RC_F_LDSO | RC_F_IGNORED)) w->state = 2;
      else want[w->slot >> 3] |= (uint8_t)(1u << (w->slot & 7)), any = true;
    }
  } else {
    for (uint32_t i = 1; i < m->nslots; i++) {
      struct rc_hdr *h = rc_mark_live(i);
      if (!h || h->stack >= w->nstacks || !(w->want_stacks[h->stack >> 3] >> (h->stack & 7) & 1)) continue;
      w->matched++;
      if (!rc_mark_is_marked(m, i)) {
        w->leaked_blocks++;
        w->leaked_bytes += rc_hdr_size(h);
        continue;
      }
      if (rc_hdr_flags(h) & (RC_F_LDSO | RC_F_IGNORED)) continue;
      want[i >> 3] |= (uint8_t)(1u << (i & 7));
      any = true;
    }
  }
  if (any) {
    if (rc_graph_build(&g, m, &w->rs) || rc_why_paths(&g, want, w->h ? 1 : 10, &w->out, w->h ? &w->skip : NULL))
      w->state = -1;
    else
      w->state = w->out.len ? 1 : 0;
  }
  rc_graph_free(&g);
  rc_munmap(want, m->nslots / 8 + 1);
}

/* Stack ids with a frame whose function is site (exact, or a C++ name
 * followed by its parameters), as why_site= matches at exit. */
static uint8_t *site_stacks(const char *site, uint32_t *nstacks)
{
  uint32_t n = rc_depot_count() + 1;
  uint8_t *bits = rc_mmap(n / 8 + 1);
  *nstacks = bits ? n : 0;
  if (!bits) return NULL;
  size_t want = strlen(site);
  for (uint32_t id = 1; id < n; id++) {
    const struct rc_stack *s = rc_depot_get(id);
    for (uint32_t i = 0; s && i < s->depth; i++) {
      struct rc_frame_info fi;
      rc_symbolize(s->pc[i], s->gen, &fi);
      if (strncmp(fi.function, site, want) || (fi.function[want] && fi.function[want] != '(')) continue;
      bits[id >> 3] |= (uint8_t)(1u << (id & 7));
      break;
    }
  }
  return bits;
}

__attribute__((noinline)) int rc_page_why(const char *query, struct rc_mbuf *out, const char **ctype)
{
  *ctype = "text/plain; charset=utf-8";
  char addr[64], site[256];
  bool has_addr = rc_query_get(query, "addr", addr, sizeof addr), has_site = rc_query_get(query, "site", site, sizeof site);
  if (has_addr == has_site) {
    rc_mbuf_printf(out, "want exactly one of ?addr=0xADDRESS or ?site=FUNCTION\n");
    return 400;
  }
  struct why_page *w = rc_mmap(sizeof *w);
  if (!w) {
    rc_mbuf_printf(out, "out of memory\n");
    return 500;
  }
  rc_vec_init(&w->out, sizeof(struct rc_why));
  uintptr_t a = 0;
  int code = 200;
  if (has_addr) {
    char *end;
    errno = 0;
    a = (uintptr_t)strtoull(addr, &end, 16);
    if (strncmp(addr, "0x", 2) || !addr[2] || *end || errno) {
      rc_mbuf_printf(out, "bad address '%.40s' (want 0x-prefixed hex)\n", addr);
      code = 400;
      goto done;
    }
    w->h = rc_block_of(a);
    if (!w->h) {
      rc_mbuf_printf(out, "no live block of the program at 0x%lx\n", (unsigned long)a);
      code = 404;
      goto done;
    }
    w->slot = w->h->slot;
  } else {
    if (!site[0]) {
      rc_mbuf_printf(out, "empty site= (want a function name)\n");
      code = 400;
      goto done;
    }
    w->want_stacks = site_stacks(site, &w->nstacks);
    if (!w->want_stacks) {
      rc_mbuf_printf(out, "out of memory\n");
      code = 500;
      goto done;
    }
  }
  rc_modules_refresh();
  rc_rootset_init(&w->rs);
  /* this thread holds copies of the address it was asked about */
  w->rs.skip_tid = (long)syscall(SYS_gettid);
  w->rs.skip_below = (uintptr_t)__builtin_frame_address(0) + 16;
  w->skip.tid = w->rs.skip_tid;
  w->skip.slot = w->slot;
  struct rc_check_hooks hooks = {.ctx = w, .root = why_root, .after_mark = why_after_mark};
  struct rc_check_req req = {.mode = RC_CHECK_NO_GROUPS, .hooks = &hooks};
  struct rc_result res;
  int err = rc_check_run(&req, &res);
  rc_result_free(&res);
  rc_rootset_free(&w->rs);
  if (err || w->state < 0) {
    rc_mbuf_printf(out, "the analysis failed (out of memory?)\n");
    code = 500;
    goto done;
  }
  if (w->state == 2) {
    rc_mbuf_printf(out, "the block at 0x%lx is a root itself (allocated by ld.so or passed to reachcheck_ignore)\n",
                   (unsigned long)a);
    goto done;
  }
  if (has_site) {
    rc_mbuf_printf(out, "blocks allocated under %s: %llu live, of which %llu (%llu bytes) unreachable (leaked)%s\n", site,
                   (unsigned long long)w->matched, (unsigned long long)w->leaked_blocks,
                   (unsigned long long)w->leaked_bytes, w->out.len ? "; paths of up to 10 reachable ones:" : "");
  } else if (!w->out.len) {
    rc_mbuf_printf(out, "the block at 0x%lx is not reachable from any root (a leak)\n", (unsigned long)a);
    goto done;
  }
  /* rc_why_text writes to a file descriptor: a memfd, read back */
  int fd = (int)syscall(SYS_memfd_create, "reachcheck-why-page", MFD_CLOEXEC);
  if (fd < 0) {
    rc_mbuf_printf(out, "memfd: %s\n", strerror(errno));
    code = 500;
    goto done;
  }
  struct rc_buf b;
  rc_buf_init(&b, fd);
  for (size_t i = 0; i < w->out.len; i++) {
    struct rc_why *x = &((struct rc_why *)w->out.data)[i];
    if (has_addr) {
      x->offset = (long)(a - x->addr);
      struct rc_why_step *s = (struct rc_why_step *)x->steps.data;
      if (x->steps.len) s[x->steps.len - 1].offset = x->offset;
    }
    rc_why_text(&b, x);
  }
  rc_buf_flush(&b);
  off_t len = lseek(fd, 0, SEEK_END);
  char tmp[65536];
  for (off_t o = 0; o < len;) {
    ssize_t k = pread(fd, tmp, sizeof tmp, o);
    if (k <= 0) break;
    rc_mbuf_put(out, tmp, (size_t)k);
    o += k;
  }
  close(fd);
done:
  for (size_t i = 0; i < w->out.len; i++) rc_why_free(&((struct rc_why *)w->out.data)[i]);
  rc_vec_free(&w->out);
  if (w->want_stacks) rc_munmap(w->want_stacks, w->nstacks / 8 + 1);
  rc_munmap(w, sizeof *w);
  return code;
}
