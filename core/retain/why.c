/* Why is this block alive: the shortest path from a root to it, by a
 * breadth-first search of the heap graph from the super-root (roots first,
 * in the order they were found). Every block on the way is reported with
 * its size, allocation site and the offset of the pointer to the next one.
 * reachcheck_why() runs a check for one block; why_size=/why_site= answer
 * at exit for every matching reachable block. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "retain/retain.h"
#include "reachcheck.h"

#define PATH_KEEP 64   /* blocks kept of a longer path: its head and its tail */

/* Offset in block node u of the first word pointing into block node v. */
static long edge_offset(const struct rc_graph *g, uint32_t u, uint32_t v)
{
  struct rc_hdr *h = rc_graph_hdr(g, u), *t = rc_graph_hdr(g, v);
  uintptr_t b = (uintptr_t)rc_hdr_user(h), e = b + rc_hdr_size(h);
  uintptr_t step = rc_opt.unaligned ? 1 : 8;
  for (uintptr_t p = rc_opt.unaligned ? b : (b + 7) & ~(uintptr_t)7; p + 8 <= e; p += step) {
    uintptr_t w;
    memcpy(&w, (const void *)p, sizeof w);
    if (w >= rc_heap_lo && w < rc_heap_hi && rc_block_of(w) == t) return (long)(p - b);
  }
  return -1;
}

/* Offset of the root word inside its variable (globals and TLS symbols). */
static long root_offset(const struct rc_graph *g, uint32_t u, uint32_t v)
{
  const struct rc_root *r = rc_rootset_at(g->rs, u - g->nblocks - 1);
  uint64_t base = g->off[g->nblocks + 1];
  for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) {
    if (g->succ[e] != v) continue;
    uintptr_t word = g->rword[e - base];
    /* (a stripped module's region root: from the region's start) */
    if ((r->sub == RC_RS_GLOBAL || r->sub == RC_RS_TLS) && (r->sym || (r->sub == RC_RS_GLOBAL && r->module)) &&
        word >= r->key)
      return (long)(word - r->key);
    return -1;
  }
  return -1;
}

static bool push_step(struct rc_why *w, const struct rc_graph *g, uint32_t v, long offset)
{
  struct rc_why_step *s = rc_vec_push(&w->steps);
  if (!s) return false;
  struct rc_hdr *h = rc_graph_hdr(g, v);
  s->addr = (uintptr_t)rc_hdr_user(h);
  s->size = rc_graph_size(g, v);
  s->stack = h->stack;
  s->offset = offset;
  return true;
}

/* Breadth-first from the super-root; parent[v] = predecessor + 1. With
 * skip, the calling thread's own stack and register references to the
 * block asked about are left out. */
static void bfs(const struct rc_graph *g, uint32_t *parent, uint32_t *queue, const struct rc_why_skip *skip)
{
  memset(parent, 0, (size_t)g->n * 4);
  uint32_t target = skip && skip->slot < g->nslots ? g->node_of[skip->slot] : 0;
  size_t qh = 0, qt = 0;
  /* Named variables before stack frames and registers: of two paths of the
   * same length, the one from a variable says more. */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t r = 0; r < g->nroots; r++) {
      uint8_t sub = rc_rootset_at(g->rs, r)->sub;
      if ((sub == RC_RS_STACK || sub == RC_RS_REGISTER) != (pass == 1)) continue;
      uint32_t v = rc_graph_root_node(g, r);
      parent[v] = 1;   /* the super-root */
      queue[qt++] = v;
    }
  while (qh < qt) {
    uint32_t u = queue[qh++];
    bool own = false;
    if (target && u > g->nblocks) {
      const struct rc_root *r = rc_rootset_at(g->rs, u - g->nblocks - 1);
      own = r->thread == skip->tid && (r->sub == RC_RS_STACK || r->sub == RC_RS_REGISTER);
    }
    for (uint64_t e = g->off[u]; e < g->off[u + 1]; e++) {
      uint32_t v = g->succ[e];
      if (parent[v] || (own && v == target)) continue;
      parent[v] = u + 1;
      queue[qt++] = v;
    }
  }
}

int rc_why_paths(const struct rc_graph *g, const uint8_t *want, size_t max, struct rc_vec *out,
                 const struct rc_why_skip *skip)
{
  uint32_t n = g->n;
  uint32_t *parent = rc_mmap((size_t)n * 4 + 4), *queue = rc_mmap((size_t)n * 4 + 4);
  uint32_t *path = rc_mmap((size_t)n * 4 + 4);
  int rc = -1;
  if (!parent || !queue || !path) goto done;
  bfs(g, parent, queue, skip);
  bool caller_only = false;
  if (skip && skip->slot < g->nslots && g->node_of[skip->slot] && !parent[g->node_of[skip->slot]]) {
    bfs(g, parent, queue, NULL);   /* only the caller's own references keep it */
    caller_only = parent[g->node_of[skip->slot]] != 0;
  }
  size_t found = 0;
  for (uint32_t v = 1; v <= g->nblocks && found < max; v++) {
    uint32_t slot = g->slot_of[v];
    if (!(want[slot >> 3] >> (slot & 7) & 1)) continue;
    struct rc_why *w = rc_vec_push(out);
    if (!w) goto done;
    found++;
    rc_vec_init(&w->steps, sizeof(struct rc_why_step));
    struct rc_hdr *h = rc_graph_hdr(g, v);
    w->addr = (uintptr_t)rc_hdr_user(h);
    w->size = rc_graph_size(g, v);
    w->stack = h->stack;
    w->offset = 0;
    if (!parent[v]) continue;   /* only reached from a pointer the roots no longer hold */
    w->reachable = true;
    w->caller_only = caller_only && skip->slot == slot;
    uint32_t len = 0;
    for (uint32_t x = v; x && x <= g->nblocks; x = parent[x] - 1) path[len++] = x;
    uint32_t root = parent[path[len - 1]] - 1;   /* a root node */
    w->root = *rc_rootset_at(g->rs, root - g->nblocks - 1);
    struct rc_why_step *rs = rc_vec_push(&w->steps);
    if (!rs) goto done;
    rs->is_root = true;
    rs->offset = root_offset(g, root, path[len - 1]);
    /* path[len-1] is next to the root, path[0] is the block asked about */
    for (uint32_t i = len; i-- > 0;) {
      uint32_t pos = len - 1 - i;   /* 0 for the first block after the root */
      if (len > PATH_KEEP && pos >= PATH_KEEP / 2 && i >= PATH_KEEP / 2) {
        w->elided++;
        continue;
      }
      if (!push_step(w, g, path[i], i ? edge_offset(g, path[i], path[i - 1]) : 0)) goto done;
    }
  }
  rc = 0;
done:
  rc_munmap(parent, (size_t)n * 4 + 4);
  rc_munmap(queue, (size_t)n * 4 + 4);
  rc_munmap(path, (size_t)n * 4 + 4);
  return rc;
}

void rc_why_free(struct rc_why *w) { rc_vec_free(&w->steps); }

static const char *plural(uint64_t n) { return n == 1 ? "" : "s"; }

static void allocated_in(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct rc_buf *b = ctx;
  rc_buf_printf(b, ", allocated in %s", fi->function[0] ? fi->function : "??");
  if (fi->file) rc_buf_printf(b, " %s:%d", fi->file, fi->line);
}

void rc_why_text(struct rc_buf *b, const struct rc_why *w)
{
  size_t nblocks = w->steps.len ? w->steps.len - 1 + w->elided : 0;
  rc_buf_printf(b, "\n==%d== reachcheck: why is the block at 0x%lx (%llu byte%s) alive? ", (int)getpid(),
                (unsigned long)w->addr, (unsigned long long)w->size, plural(w->size));
  if (!w->reachable) {
    rc_buf_printf(b, "no root reaches it\n");
    return;
  }
  rc_buf_printf(b, "%zu block%s on the shortest path from a root%s:\n", nblocks, nblocks == 1 ? "" : "s",
                w->caller_only ? " (only the asking thread's own references to it: it would leak otherwise)" : "");
  const struct rc_why_step *s = (const struct rc_why_step *)w->steps.data;
  for (size_t i = 0; i < w->steps.len; i++) {
    if (s[i].is_root) {
      rc_buf_put(b, "  root: ", 8);
      rc_root_text(b, &w->root);
      if (s[i].offset >= 0) rc_buf_printf(b, ", pointer at offset %ld", s[i].offset);
      rc_buf_put(b, "\n", 1);
      continue;
    }
    if (w->elided && i == 1 + PATH_KEEP / 2)
      rc_buf_printf(b, "  -> ... %llu more block%s ...\n", (unsigned long long)w->elided, plural(w->elided));
    bool last = i + 1 == w->steps.len;
    rc_buf_printf(b, "  -> %llu byte%s at 0x%lx", (unsigned long long)s[i].size, plural(s[i].size), (unsigned long)s[i].addr);
    if (last) {
      rc_buf_printf(b, " (the block asked about), allocated from:\n");
      rc_stack_format(b, s[i].stack, RC_STACK_FRAMES, "       ", 6);
      continue;
    }
    if (s[i].offset >= 0) rc_buf_printf(b, ", pointer at offset %ld", s[i].offset);
    rc_stack_each(s[i].stack, 1, allocated_in, b);   /* the innermost frame is enough on the way */
    rc_buf_put(b, "\n", 1);
  }
}

void rc_why_json(struct rc_buf *b, const struct rc_why *w)
{
  rc_buf_printf(b, "{\"block\":{\"address\":\"0x%lx\",\"size\":%llu,\"stack\":", (unsigned long)w->addr,
                (unsigned long long)w->size);
  rc_stack_format(b, w->stack, RC_STACK_JSON, NULL, 0);
  rc_buf_printf(b, "},\"reachable\":%s,\"caller_only\":%s,\"length\":%zu,\"elided\":%llu,\"path\":[",
                w->reachable ? "true" : "false", w->caller_only ? "true" : "false",
                w->steps.len ? w->steps.len - 1 + w->elided : 0, (unsigned long long)w->elided);
  const struct rc_why_step *s = (const struct rc_why_step *)w->steps.data;
  for (size_t i = 0; i < w->steps.len; i++) {
    if (i) rc_buf_put(b, ",", 1);
    if (s[i].is_root) {
      rc_buf_put(b, "{\"root\":", 8);
      rc_root_json(b, &w->root, true, s[i].offset);
      rc_buf_put(b, "}", 1);
      continue;
    }
    rc_buf_printf(b, "{\"block\":{\"address\":\"0x%lx\",\"size\":%llu,\"offset\":%ld,\"stack\":", (unsigned long)s[i].addr,
                  (unsigned long long)s[i].size, s[i].offset);
    rc_stack_format(b, s[i].stack, RC_STACK_JSON, NULL, 0);
    rc_buf_put(b, "}}", 2);
  }
  rc_buf_put(b, "]}", 2);
}

/* Stack ids with a frame whose function is why_site (exact, or a C++ name
 * followed by its parameter list), symbolized before the world stops. */
uint8_t *rc_why_site_stacks(uint32_t *nstacks)
{
  uint32_t n = rc_depot_count() + 1;
  uint8_t *bits = rc_mmap(n / 8 + 1);
  *nstacks = bits ? n : 0;
  if (!bits) return NULL;
  size_t want = strlen(rc_opt.why_site);
  for (uint32_t id = 1; id < n; id++) {
    const struct rc_stack *s = rc_depot_get(id);
    for (uint32_t i = 0; s && i < s->depth; i++) {
      struct rc_frame_info fi;
      rc_symbolize(s->pc[i], s->gen, &fi);
      if (strncmp(fi.function, rc_opt.why_site, want) || (fi.function[want] && fi.function[want] != '(')) continue;
      bits[id >> 3] |= (uint8_t)(1u << (id & 7));
      break;
    }
  }
  return bits;
}

/* ---- reachcheck_why ---- */
struct why_ctx {
  struct rc_rootset rs;
  struct rc_hdr *h;
  uintptr_t p;
  uint32_t slot;
  int state;        /* 0 unreachable, 1 answered, 2 the block is a root itself, -1 failed */
  struct rc_why_skip skip;
  struct rc_vec out;
};

static void why_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct why_ctx *c = ctx;
  rc_rootset_range(&c->rs, lo, hi, r);
}

static void why_after_mark(void *ctx, struct rc_mark *m)
{
  struct why_ctx *c = ctx;
  if (!rc_mark_is_marked(m, c->slot) || rc_mark_live(c->slot) != c->h) return;
  if (rc_hdr_flags(c->h) & (RC_F_LDSO | RC_F_IGNORED)) {
    c->state = 2;
    return;
  }
  struct rc_graph g;
  memset(&g, 0, sizeof g);
  uint8_t *want = rc_mmap(m->nslots / 8 + 1);
  if (!want || rc_graph_build(&g, m, &c->rs)) {
    c->state = -1;
  } else {
    want[c->slot >> 3] |= (uint8_t)(1u << (c->slot & 7));
    c->state = rc_why_paths(&g, want, 1, &c->out, &c->skip) || !c->out.len ? -1 : 1;
  }
  rc_graph_free(&g);
  rc_munmap(want, m->nslots / 8 + 1);
}

REACHCHECK_API __attribute__((noinline)) int reachcheck_why(const void *p, char *buf, size_t len)
{
  if (buf && len) buf[0] = 0;
  if (!rc_heap_ready()) return -1;
  struct rc_hdr *h = rc_block_of((uintptr_t)p);
  if (!h) return -1;
  rc_modules_refresh();
  struct why_ctx c;
  memset(&c, 0, sizeof c);
  rc_rootset_init(&c.rs);
  /* Our frames and the registers hold copies of p; the caller's frame
   * starts above our return address. */
  c.rs.skip_tid = (long)syscall(SYS_gettid);
  c.rs.skip_below = (uintptr_t)__builtin_frame_address(0) + 16;
  c.h = h;
  c.p = (uintptr_t)p;
  c.slot = h->slot;
  c.skip.tid = c.rs.skip_tid;
  c.skip.slot = h->slot;
  rc_vec_init(&c.out, sizeof(struct rc_why));
  struct rc_check_hooks hooks = {.ctx = &c, .root = why_root, .after_mark = why_after_mark};
  struct rc_check_req req = {.mode = RC_CHECK_NO_GROUPS, .hooks = &hooks};
  struct rc_result res;
  int err = rc_check_run(&req, &res);
  rc_result_free(&res);
  rc_rootset_free(&c.rs);
  rc_in_runtime++;
  struct rc_why *w = c.out.len ? (struct rc_why *)c.out.data : NULL;
  if (w) {
    w->offset = (long)(c.p - w->addr);
    struct rc_why_step *s = (struct rc_why_step *)w->steps.data;
    if (w->steps.len) s[w->steps.len - 1].offset = w->offset;
  }
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  int ret;
  if (err || c.state < 0) {
    rc_buf_printf(&b, "reachcheck: why: the analysis failed (out of memory?)\n");
    ret = -1;
  } else if (c.state == 2) {
    rc_buf_printf(&b, "reachcheck: why: the block at 0x%lx is a root itself (allocated by ld.so or passed to "
                      "reachcheck_ignore)\n", (unsigned long)(uintptr_t)rc_hdr_user(h));
    ret = 1;
  } else if (!w) {
    rc_buf_printf(&b, "reachcheck: why: the block at 0x%lx is not reachable from any root (a leak)\n",
                  (unsigned long)(uintptr_t)rc_hdr_user(h));
    ret = 0;
  } else {
    rc_why_text(&b, w);
    ret = w->reachable ? (int)(w->steps.len - 1 + w->elided) : 0;
  }
  rc_buf_flush(&b);
  if (buf && len > 1) {
    /* JSON through a memfd: the report writer writes to file descriptors. */
    int fd = (int)syscall(SYS_memfd_create, "reachcheck-why", MFD_CLOEXEC);
    if (fd >= 0) {
      rc_buf_init(&b, fd);
      if (w) rc_why_json(&b, w);
      else rc_buf_printf(&b, "{\"block\":{\"address\":\"0x%lx\",\"size\":%llu},\"reachable\":%s,\"length\":%d,\"path\":[]}",
                         (unsigned long)(uintptr_t)rc_hdr_user(h), (unsigned long long)rc_hdr_size(h),
                         ret > 0 ? "true" : "false", ret > 0 ? ret : 0);
      rc_buf_flush(&b);
      ssize_t k = pread(fd, buf, len - 1, 0);
      buf[k > 0 ? k : 0] = 0;
      close(fd);
    }
  }
  for (size_t i = 0; i < c.out.len; i++) rc_why_free(&((struct rc_why *)c.out.data)[i]);
  rc_vec_free(&c.out);
  rc_in_runtime--;
  return ret;
}
