/* What a heap profile is made of: the allocation counters and, when a
 * reachability check runs, every live block by (allocation stack, state,
 * retaining root). The check's part runs with the world stopped (at exit)
 * or in a forked copy (the live endpoint's ?gc=1 and /leaks): no locks, no
 * checked heap; the copy sends its findings back through a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "profile/profile.h"

static int64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rc_prof_free(struct rc_prof *p)
{
  if (p->counts) rc_munmap(p->counts, (size_t)p->nstacks * sizeof *p->counts);
  rc_vec_free(&p->ents);
  rc_vec_free(&p->roots);
  memset(p, 0, sizeof *p);
}

static int take_counts(struct rc_prof *p)
{
  p->nstacks = rc_depot_count() + 1;
  p->counts = rc_mmap((size_t)p->nstacks * sizeof *p->counts);
  if (!p->counts) return -1;
  rc_counts_sum(p->counts, p->nstacks);
  return 0;
}

int rc_prof_counters(struct rc_prof *p)
{
  memset(p, 0, sizeof *p);
  rc_vec_init(&p->ents, sizeof(struct rc_prof_ent));
  rc_vec_init(&p->roots, sizeof(struct rc_prof_root));
  p->time_ns = now_ns();
  return take_counts(p);
}

/* ---- the check's part ---- */
struct pcheck {
  struct rc_rootset rs;
  struct rc_prof *p;
  int fd;                 /* forked copy: the pipe to the program */
  bool ok;
  bool at_exit;           /* the at-exit check: retention's owners may be there already */
};

static void pc_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct pcheck *c = ctx;
  if (c->fd >= 0 && !c->rs.rename_from) c->rs.rename_from = (long)syscall(SYS_gettid);
  rc_rootset_range(&c->rs, lo, hi, r);
}

/* Every live block by (stack, owner): the owner is RC_OWNER_LEAKED for an
 * unmarked block, else the root retaining it in the dominator tree
 * (RC_OWNER_ROOT0 + its index in p->roots) or RC_OWNER_SHARED; the
 * dominator tree's answer comes from the ownership pass (retain/owner.c),
 * which needs neither the graph nor the tree. */
static void pc_after_mark(void *ctx, struct rc_mark *m)
{
  struct pcheck *c = ctx;
  struct rc_prof *p = c->p;
  /* At exit the retention table's pass has the answer already (same
   * check, same marks); its roots are indexed in its own root set. */
  const struct rc_rootset *rs = &c->rs;
  const struct rc_own *o = c->at_exit ? rc_retain_exit_owners(&rs) : NULL;
  struct rc_own mine;
  bool have_own = o != NULL;
  if (!o && !rc_own_compute(m, &c->rs, &mine, false)) {
    o = &mine;
    have_own = true;
  }
  uint32_t nroots = have_own ? o->nroots : 0;
  uint32_t *rootmap = NULL;   /* root -> index in p->roots + 1 */
  struct rc_site_tab tab = {0};
  if (take_counts(p)) goto out;
  p->complete = have_own && !rs->failed;
  rootmap = rc_mmap(((size_t)nroots + 1) * sizeof *rootmap);
  /* starts at a few entries per stack and grows (sized for every stack
   * under every root it was ~24 MiB for python3, read back in full) */
  if (!rootmap || rc_site_tab_init(&tab, p->nstacks < m->nslots ? p->nstacks : m->nslots)) goto out;
  for (uint32_t i = 1; i < m->nslots; i++) {
    struct rc_hdr *h = rc_mark_live(i);
    if (!h || !h->stack) continue;
    uint32_t owner = RC_OWNER_LEAKED;
    if (rc_mark_is_marked(m, i)) {
      owner = RC_OWNER_SHARED;
      uint32_t t = have_own && i < o->nslots ? rc_own_get(o, i) : 0;
      if (t && t != RC_OWN_SHARED) {
        uint32_t r = t - 1;
        if (!rootmap[r]) {
          struct rc_prof_root *pr = rc_vec_push(&p->roots);
          if (!pr) goto out;
          pr->root = *rc_rootset_at(rs, r);
          if (pr->root.sym) snprintf(pr->sym, sizeof pr->sym, "%s", pr->root.sym);
          pr->root.sym = NULL;
          rootmap[r] = (uint32_t)p->roots.len;
        }
        owner = RC_OWNER_ROOT0 + rootmap[r] - 1;
      }
    }
    struct rc_site_sum *e = rc_site_add(&tab, owner, h->stack);
    if (!e) goto out;
    e->blocks++;
    e->bytes += rc_hdr_size(h);
  }
  for (size_t i = 0; i < tab.cap; i++) {
    if (!tab.e[i].blocks) continue;
    struct rc_prof_ent *e = rc_vec_push(&p->ents);
    if (!e) goto out;
    *e = (struct rc_prof_ent){tab.e[i].stack, tab.e[i].owner, tab.e[i].blocks, tab.e[i].bytes};
  }
  p->checked = true;
  c->ok = true;
out:
  if (tab.e) rc_site_tab_free(&tab);
  rc_munmap(rootmap, ((size_t)nroots + 1) * sizeof *rootmap);
  if (o == &mine) rc_own_free(&mine);
  if (c->at_exit) rc_retain_exit_release();
}

/* ---- the forked copy sends p through a pipe ---- */
struct wire_head { uint32_t magic, nstacks, complete, pad; uint64_t nents, nroots; };
#define WIRE_MAGIC 0x72637066u

static bool write_all(int fd, const void *d, size_t n)
{
  while (n) {
    ssize_t w = write(fd, d, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    d = (const char *)d + w;
    n -= (size_t)w;
  }
  return true;
}

static void pc_in_child(void *ctx, struct rc_result *res)
{
  (void)res;
  struct pcheck *c = ctx;
  struct rc_prof *p = c->p;
  if (!c->ok) _exit(3);
  struct wire_head h = {WIRE_MAGIC, p->nstacks, p->complete, 0, p->ents.len, p->roots.len};
  bool ok = write_all(c->fd, &h, sizeof h) && write_all(c->fd, p->counts, (size_t)p->nstacks * sizeof *p->counts) &&
            write_all(c->fd, p->ents.data, p->ents.len * sizeof(struct rc_prof_ent)) &&
            write_all(c->fd, p->roots.data, p->roots.len * sizeof(struct rc_prof_root));
  _exit(ok ? 0 : 4);
}

/* Read everything the copy writes, at most timeout_ms in all. */
static int read_pipe(int fd, struct rc_mbuf *b, int timeout_ms)
{
  double end = rc_now_ms() + timeout_ms;
  char tmp[65536];
  for (;;) {
    int left = (int)(end - rc_now_ms());
    if (left <= 0) return -1;
    struct pollfd pf = {fd, POLLIN, 0};
    int r = poll(&pf, 1, left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return b->oom ? -1 : 0;
    rc_mbuf_put(b, tmp, (size_t)n);
  }
}

static int vec_fill(struct rc_vec *v, const char *src, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    void *e = rc_vec_push(v);
    if (!e) return -1;
    memcpy(e, src + i * v->elem, v->elem);
  }
  return 0;
}

int rc_prof_checked(struct rc_prof *p, char *err, size_t errlen)
{
  memset(p, 0, sizeof *p);
  rc_vec_init(&p->ents, sizeof(struct rc_prof_ent));
  rc_vec_init(&p->roots, sizeof(struct rc_prof_root));
  p->time_ns = now_ns();
  if (!rc_heap_ready()) {
    snprintf(err, errlen, "the heap is not initialised yet");
    return -1;
  }
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC)) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  struct pcheck *c = rc_mmap(sizeof *c);
  struct rc_prof *cp = rc_mmap(sizeof *cp);   /* the copy's own result */
  if (!c || !cp) {
    close(pfd[0]);
    close(pfd[1]);
    rc_munmap(c, sizeof *c);
    rc_munmap(cp, sizeof *cp);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  rc_vec_init(&cp->ents, sizeof(struct rc_prof_ent));
  rc_vec_init(&cp->roots, sizeof(struct rc_prof_root));
  c->p = cp;
  c->fd = pfd[1];
  rc_modules_refresh();
  rc_rootset_init(&c->rs);
  c->rs.rename_to = (long)syscall(SYS_gettid);
  struct rc_check_hooks hooks = {.ctx = c, .root = pc_root, .after_mark = pc_after_mark, .in_child = pc_in_child};
  struct rc_check_req req = {.mode = RC_CHECK_FORK | RC_CHECK_NO_GROUPS, .hooks = &hooks};
  struct rc_result res;
  int rc = rc_check_run(&req, &res);
  rc_result_free(&res);
  close(pfd[1]);
  p->ms = res.ms_stop + res.ms_mark;
  struct rc_mbuf b = {0};
  int got = rc || res.child <= 0 ? -1 : read_pipe(pfd[0], &b, 120000);
  close(pfd[0]);
  if (res.child > 0) {
    if (got) kill(res.child, SIGKILL);
    int st;
    while (waitpid(res.child, &st, 0) < 0 && errno == EINTR) {}
  }
  rc_rootset_free(&c->rs);
  rc_munmap(c, sizeof *c);
  rc_munmap(cp, sizeof *cp);
  const struct wire_head *h = (const struct wire_head *)b.d;
  size_t need = 0;
  if (!got && b.len >= sizeof *h && h->magic == WIRE_MAGIC)
    need = sizeof *h + (size_t)h->nstacks * sizeof(struct rc_count) + h->nents * sizeof(struct rc_prof_ent) +
           h->nroots * sizeof(struct rc_prof_root);
  if (got || !need || b.len != need) {
    rc_mbuf_free(&b);
    snprintf(err, errlen, "the reachability check failed (%s)",
             rc ? "could not stop the threads or fork" : got ? "the forked copy died or timed out" : "bad data");
    return -1;
  }
  p->nstacks = h->nstacks;
  p->complete = h->complete;
  p->counts = rc_mmap((size_t)p->nstacks * sizeof *p->counts);
  const char *q = b.d + sizeof *h;
  int bad = !p->counts;
  if (!bad) memcpy(p->counts, q, (size_t)p->nstacks * sizeof *p->counts);
  q += (size_t)p->nstacks * sizeof *p->counts;
  bad = bad || vec_fill(&p->ents, q, h->nents);
  q += h->nents * sizeof(struct rc_prof_ent);
  bad = bad || vec_fill(&p->roots, q, h->nroots);
  rc_mbuf_free(&b);
  if (bad) {
    rc_prof_free(p);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  p->checked = true;
  return 0;
}

/* ---- at exit ---- */
struct chain {
  struct rc_check_hooks hooks;
  const struct rc_check_hooks *inner;
  struct pcheck pc;
  struct rc_prof prof;
};
static struct chain *X;

static void chain_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct chain *c = ctx;
  if (c->inner && c->inner->root) c->inner->root(c->inner->ctx, lo, hi, r);
  pc_root(&c->pc, lo, hi, r);
}

static void chain_after_mark(void *ctx, struct rc_mark *m)
{
  struct chain *c = ctx;
  if (c->inner && c->inner->after_mark) c->inner->after_mark(c->inner->ctx, m);
  pc_after_mark(&c->pc, m);
}

const struct rc_check_hooks *rc_profile_exit_hooks(const struct rc_check_hooks *inner)
{
  if (!rc_opt.pprof[0]) return inner;
  X = rc_mmap(sizeof *X);
  if (!X) return inner;
  X->inner = inner;
  X->pc.fd = -1;
  X->pc.p = &X->prof;
  X->pc.at_exit = true;
  rc_vec_init(&X->prof.ents, sizeof(struct rc_prof_ent));
  rc_vec_init(&X->prof.roots, sizeof(struct rc_prof_root));
  rc_modules_refresh();
  rc_rootset_init(&X->pc.rs);
  X->hooks.ctx = X;
  X->hooks.root = chain_root;
  X->hooks.after_mark = chain_after_mark;
  X->hooks.concurrent = !inner || inner->concurrent;   /* pc_after_mark reads the marks, owners and counters */
  return &X->hooks;
}

void rc_profile_exit_write(bool checked)
{
  if (!rc_opt.pprof[0]) return;
  struct rc_prof tmp, *p = &tmp;
  if (checked && X && X->prof.checked) {
    p = &X->prof;
    p->time_ns = now_ns();
  } else if (rc_prof_counters(&tmp)) {
    rc_log("cannot write the pprof profile '%s': out of memory", rc_opt.pprof);
    return;
  }
  struct rc_mbuf out = {0};
  if (rc_prof_pprof(p, NULL, RC_PROF_HEAP, &out) || rc_pp_write_file(rc_opt.pprof, out.d, out.len))
    rc_log("cannot write the pprof profile '%s': %s", rc_opt.pprof, out.oom ? "out of memory" : strerror(errno));
  rc_mbuf_free(&out);
  if (p == &tmp) rc_prof_free(&tmp);
  if (X) rc_rootset_free(&X->pc.rs);
}
