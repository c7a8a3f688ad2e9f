/* A captured heap (core/profile/collect.c) as a pprof profile or as text:
 * samples by (allocation stack, state, root), every frame symbolized here
 * (go tool pprof cannot symbolize C programs), mappings with their build
 * ids. Runs with the world running, in the thread that asked (the at-exit
 * check's or the endpoint's), with rc_in_runtime set while symbolizing. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "profile/profile.h"
#include "stack/timeline.h"

static int64_t start_ns;   /* when the program started: alloc_* counts from there */

__attribute__((constructor(103))) static void heap_profile_init(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  start_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One sample before encoding. */
struct psample { uint32_t stack, owner; int state; int64_t v[RC_PP_NVALUES]; };
enum { ST_NONE, ST_REACHABLE, ST_LEAKED, ST_FREED };
static const char *const state_names[] = {NULL, "reachable", "leaked", "freed"};

static void push(struct rc_vec *v, uint32_t stack, uint32_t owner, int state, const int64_t *vals)
{
  bool any = false;
  for (int i = 0; i < RC_PP_NVALUES; i++) any |= vals[i] != 0;
  if (!any) return;
  struct psample *s = rc_vec_push(v);
  if (!s) return;
  s->stack = stack;
  s->owner = owner;
  s->state = state;
  memcpy(s->v, vals, sizeof s->v);
}

static const struct rc_count *count_of(const struct rc_prof *p, uint32_t stack)
{
  static const struct rc_count zero;
  return p && stack < p->nstacks ? &p->counts[stack] : &zero;
}

/* Over time (stack/timeline.h): the stack's temporary allocations and its
 * live blocks and bytes at the peak (docs/profiles.md). A delta profile
 * has the temporaries made since base and no peak (a peak is a moment, not
 * a sum). */
static void over_time(int64_t *v, const struct rc_peak *pk, uint32_t s, const struct rc_count *c, const struct rc_count *b,
                      bool delta)
{
  v[RC_PP_TEMP_OBJECTS] = (int64_t)(c->temps - b->temps);
  if (delta || s >= pk->n) return;
  v[RC_PP_PEAK_OBJECTS] = (int64_t)pk->site_blocks[s];
  v[RC_PP_PEAK_SPACE] = (int64_t)pk->site_bytes[s];
}

static int samples_with(const struct rc_prof *p, const struct rc_prof *base, struct rc_vec *out, const struct rc_peak *pkp);

/* The samples of p (minus base). */
static int samples(const struct rc_prof *p, const struct rc_prof *base, struct rc_vec *out)
{
  rc_vec_init(out, sizeof(struct psample));
  struct rc_peak pk = {0};
  bool locked = rc_timeline_lock();   /* the peak's arrays, read below (stack/timeline.h) */
  if (locked) rc_peak_get(&pk);
  int rc = samples_with(p, base, out, &pk);
  if (locked) rc_timeline_unlock();
  return rc;
}

static int samples_with(const struct rc_prof *p, const struct rc_prof *base, struct rc_vec *out, const struct rc_peak *pkp)
{
  const struct rc_peak pk = *pkp;
  if (!p->checked || base) {
    for (uint32_t s = 1; s < p->nstacks; s++) {
      const struct rc_count *c = count_of(p, s), *b = count_of(base, s);
      int64_t v[RC_PP_NVALUES] = {0};
      v[RC_PP_ALLOC_OBJECTS] = (int64_t)(c->allocs - b->allocs);
      v[RC_PP_ALLOC_SPACE] = (int64_t)(c->alloc_bytes - b->alloc_bytes);
      v[RC_PP_INUSE_OBJECTS] = (int64_t)(c->allocs - c->frees) - (int64_t)(b->allocs - b->frees);
      v[RC_PP_INUSE_SPACE] = (int64_t)(c->alloc_bytes - c->free_bytes) - (int64_t)(b->alloc_bytes - b->free_bytes);
      over_time(v, &pk, s, c, b, base != NULL);
      push(out, s, 0, ST_NONE, v);
    }
    return 0;
  }
  /* live blocks and bytes per stack, to leave the freed ones in a sample of their own */
  uint64_t *live = rc_mmap((size_t)p->nstacks * 2 * sizeof *live);
  if (!live) return -1;
  const struct rc_prof_ent *e = (const struct rc_prof_ent *)p->ents.data;
  for (size_t i = 0; i < p->ents.len; i++) {
    if (e[i].stack >= p->nstacks) continue;
    bool leaked = e[i].owner == RC_OWNER_LEAKED;
    int64_t v[RC_PP_NVALUES] = {(int64_t)e[i].blocks, (int64_t)e[i].bytes, (int64_t)e[i].blocks, (int64_t)e[i].bytes,
                                leaked ? (int64_t)e[i].blocks : 0, leaked ? (int64_t)e[i].bytes : 0};
    push(out, e[i].stack, e[i].owner, leaked ? ST_LEAKED : ST_REACHABLE, v);
    live[(size_t)2 * e[i].stack] += e[i].blocks;
    live[(size_t)2 * e[i].stack + 1] += e[i].bytes;
  }
  for (uint32_t s = 1; s < p->nstacks; s++) {
    const struct rc_count *c = &p->counts[s];
    int64_t v[RC_PP_NVALUES] = {0};
    /* a thread stopped between its count and its header may leave one off */
    v[RC_PP_ALLOC_OBJECTS] = c->allocs > live[(size_t)2 * s] ? (int64_t)(c->allocs - live[(size_t)2 * s]) : 0;
    v[RC_PP_ALLOC_SPACE] = c->alloc_bytes > live[(size_t)2 * s + 1] ? (int64_t)(c->alloc_bytes - live[(size_t)2 * s + 1]) : 0;
    over_time(v, &pk, s, c, count_of(NULL, s), false);   /* in the stack's one "freed" sample */
    push(out, s, 0, ST_FREED, v);
  }
  rc_munmap(live, (size_t)p->nstacks * 2 * sizeof *live);
  return 0;
}

static int value_index(enum rc_prof_kind kind)
{
  return kind == RC_PROF_ALLOCS ? RC_PP_ALLOC_SPACE : kind == RC_PROF_LEAKS ? RC_PP_LEAKED_SPACE : RC_PP_INUSE_SPACE;
}

static int sort_index;
static int by_value(const void *a, const void *b)
{
  const struct psample *x = a, *y = b;
  int64_t vx = x->v[sort_index], vy = y->v[sort_index];
  if (vx != vy) return vx < vy ? 1 : -1;
  if (x->v[RC_PP_ALLOC_SPACE] != y->v[RC_PP_ALLOC_SPACE]) return x->v[RC_PP_ALLOC_SPACE] < y->v[RC_PP_ALLOC_SPACE] ? 1 : -1;
  if (x->stack != y->stack) return x->stack < y->stack ? -1 : 1;
  return x->owner < y->owner ? -1 : x->owner > y->owner;
}

void rc_prof_root_name(const struct rc_prof *p, uint32_t owner, char *out, size_t n)
{
  if (owner < RC_OWNER_ROOT0 || owner - RC_OWNER_ROOT0 >= p->roots.len) {
    snprintf(out, n, "%s", owner == RC_OWNER_LEAKED ? "none" : "shared");
    return;
  }
  const struct rc_prof_root *pr = &((const struct rc_prof_root *)p->roots.data)[owner - RC_OWNER_ROOT0];
  struct rc_root r = pr->root;
  r.sym = pr->sym[0] ? pr->sym : NULL;
  struct rc_buf b;
  rc_buf_init(&b, -1);
  rc_root_text(&b, &r);
  size_t k = b.len < n - 1 ? b.len : n - 1;
  memcpy(out, b.data, k);
  out[k] = 0;
}

static void cmdline(char *out, size_t n);

/* ---- symbolized locations ---- */
static uint64_t mapping_of(struct rc_locctx *lc, uintptr_t pc, uint32_t gen)
{
  const char *path;
  uintptr_t bias;
  if (!rc_module_lookup(pc, gen, &path, &bias)) return 0;
  for (int i = 0; i < lc->nmaps; i++)
    if (lc->maps[i].path == path && lc->maps[i].bias == bias) return lc->maps[i].id;
  struct rc_elf_span sp;
  uint64_t id;
  if (rc_pp_elf_info(path, &sp))
    id = rc_pp_mapping(lc->pp, bias + sp.vlo, bias + sp.vhi, sp.off, path, sp.build_id, true);
  else
    id = rc_pp_mapping(lc->pp, pc, pc + 1, 0, path, NULL, true);
  if (lc->nmaps < 256) {
    lc->maps[lc->nmaps].path = path;
    lc->maps[lc->nmaps].bias = bias;
    lc->maps[lc->nmaps++].id = id;
  }
  return id;
}

static const char *base_name(const char *p)
{
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

int rc_prof_locations(struct rc_locctx *lc, const uintptr_t *pcs, int n, uint32_t gen, bool first_exact, uint64_t *locs)
{
  /* the program's own mapping first: pprof names a profile after it */
  if (!lc->nmaps) mapping_of(lc, (uintptr_t)getauxval(AT_ENTRY), rc_stack_generation());
  for (int i = 0; i < n; i++) {
    /* symbolization looks up pc - 1 (a return address's call): an
     * interrupted thread's own pc is exact, so it goes in as pc + 1 */
    uintptr_t pc = pcs[i] + (i == 0 && first_exact);
    uint64_t key = ((uint64_t)pc ^ ((uint64_t)gen << 48)) | 1ull << 63;
    uint64_t id = rc_pp_location_find(lc->pp, key);
    if (!id) {
      struct rc_frame_info fi[8];
      int nf = rc_symbolize_inline(pc, gen, fi, 8);
      struct rc_pp_line lines[8];
      for (int k = 0; k < nf; k++) {
        char name[320];
        if (fi[k].function[0]) snprintf(name, sizeof name, "%s", fi[k].function);
        else snprintf(name, sizeof name, "%s+0x%lx", base_name(fi[k].module), (unsigned long)fi[k].offset);
        lines[k].function = rc_pp_function(lc->pp, name, NULL, fi[k].file ? fi[k].file : "", 0);
        lines[k].line = fi[k].line;
      }
      id = rc_pp_location(lc->pp, key, mapping_of(lc, pc, gen), pcs[i], lines, nf);
    }
    locs[i] = id;
  }
  return n;
}

/* Location ids of stack's frames, leaf first; returns how many. */
static int stack_locations(struct rc_locctx *lc, uint32_t stack, uint64_t *locs)
{
  const struct rc_stack *st = rc_depot_get(stack);
  return st ? rc_prof_locations(lc, st->pc, (int)st->depth, st->gen, false, locs) : 0;
}

void rc_prof_comments(struct rc_pp *pp)
{
  char line[4096 + 64], cmd[4096];
  snprintf(line, sizeof line, "reachcheck %s", rc_version);
  rc_pp_comment(pp, line);
  cmdline(cmd, sizeof cmd);
  snprintf(line, sizeof line, "command line: %s", cmd);
  rc_pp_comment(pp, line);
  snprintf(line, sizeof line, "pid: %d", (int)getpid());
  rc_pp_comment(pp, line);
}

static void cmdline(char *out, size_t n)
{
  out[0] = 0;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t k = read(fd, out, n - 1);
  close(fd);
  if (k <= 0) return;
  for (ssize_t i = 0; i < k; i++)
    if (!out[i]) out[i] = ' ';
  while (k > 0 && out[k - 1] == ' ') k--;
  out[k] = 0;
}

int rc_prof_pprof(const struct rc_prof *p, const struct rc_prof *base, enum rc_prof_kind kind, struct rc_mbuf *out)
{
  struct rc_vec sv;
  if (samples(p, base, &sv)) return -1;
  rc_in_runtime++;
  struct rc_locctx *lc = rc_mmap(sizeof *lc);
  struct rc_pp *pp = rc_pp_new();
  int ret = -1;
  if (!lc || !pp) goto done;
  lc->pp = pp;
  rc_pp_sample_types(pp, rc_pp_value_names, RC_PP_NVALUES, rc_pp_value_names[value_index(kind)][0]);
  rc_pp_period(pp, "space", "bytes", 1);
  rc_pp_times(pp, p->time_ns, base ? p->time_ns - base->time_ns : p->time_ns - start_ns);
  rc_prof_comments(pp);
  rc_pp_comment(pp, base ? "delta profile: values are the change over duration_nanos"
                : p->checked ? "reachability check: ran; leaked_* and the labels state and root are filled"
                             : "reachability check: not run; leaked_* are 0 (the endpoint's ?gc=1 runs one)");
  const struct psample *s = (const struct psample *)sv.data;
  uint64_t locs[RC_MAX_FRAMES];
  for (size_t i = 0; i < sv.len; i++) {
    int nl = stack_locations(lc, s[i].stack, locs);
    struct rc_pp_label lab[2];
    int nlab = 0;
    char root[512];
    if (s[i].state != ST_NONE) lab[nlab++] = (struct rc_pp_label){"state", state_names[s[i].state], 0};
    if (s[i].state == ST_REACHABLE) {
      rc_prof_root_name(p, s[i].owner, root, sizeof root);
      lab[nlab++] = (struct rc_pp_label){"root", root, 0};
    }
    rc_pp_sample(pp, locs, nl, s[i].v, RC_PP_NVALUES, lab, nlab);
  }
  struct rc_mbuf raw = {0};
  rc_pp_encode(pp, &raw);
  if (!raw.oom && !rc_pp_gzip(raw.d, raw.len, out)) ret = 0;
  rc_mbuf_free(&raw);
done:
  rc_pp_free(pp);
  rc_munmap(lc, sizeof *lc);
  rc_vec_free(&sv);
  rc_in_runtime--;
  return ret;
}

void rc_prof_text(const struct rc_prof *p, const struct rc_prof *base, enum rc_prof_kind kind, struct rc_mbuf *out)
{
  struct rc_vec sv;
  if (samples(p, base, &sv)) {
    rc_mbuf_printf(out, "out of memory\n");
    return;
  }
  rc_in_runtime++;
  struct psample *s = (struct psample *)sv.data;
  sort_index = value_index(kind);
  rc_heapsort(s, sv.len, sizeof *s, by_value);
  int64_t tot[RC_PP_NVALUES] = {0};
  for (size_t i = 0; i < sv.len; i++)
    for (int k = 0; k < RC_PP_NVALUES; k++) tot[k] += s[i].v[k];
  rc_mbuf_printf(out, "reachcheck %s profile of pid %d: %zu samples, sorted by %s%s\n",
                 kind == RC_PROF_ALLOCS ? "allocs" : kind == RC_PROF_LEAKS ? "leaks" : "heap", (int)getpid(), sv.len,
                 rc_pp_value_names[sort_index][0], base ? " (delta)" : "");
  rc_mbuf_printf(out, "reachability check: %s\n",
                 base ? "not run (delta profile)"
                 : p->checked ? (p->complete ? "ran (leaked and root are current)" : "ran, retention incomplete (out of memory)")
                              : "not run (leaked is 0; ?gc=1 runs one)");
  rc_mbuf_printf(out, "total: inuse %lld bytes in %lld objects; allocated %lld bytes in %lld objects; leaked %lld bytes in %lld objects\n",
                 (long long)tot[RC_PP_INUSE_SPACE], (long long)tot[RC_PP_INUSE_OBJECTS], (long long)tot[RC_PP_ALLOC_SPACE],
                 (long long)tot[RC_PP_ALLOC_OBJECTS], (long long)tot[RC_PP_LEAKED_SPACE], (long long)tot[RC_PP_LEAKED_OBJECTS]);
  for (size_t i = 0; i < sv.len; i++) {
    rc_mbuf_printf(out, "\ninuse %lld bytes in %lld objects; allocated %lld bytes in %lld objects; leaked %lld bytes in %lld objects",
                   (long long)s[i].v[RC_PP_INUSE_SPACE], (long long)s[i].v[RC_PP_INUSE_OBJECTS],
                   (long long)s[i].v[RC_PP_ALLOC_SPACE], (long long)s[i].v[RC_PP_ALLOC_OBJECTS],
                   (long long)s[i].v[RC_PP_LEAKED_SPACE], (long long)s[i].v[RC_PP_LEAKED_OBJECTS]);
    if (s[i].state != ST_NONE) rc_mbuf_printf(out, "; state=%s", state_names[s[i].state]);
    if (s[i].state == ST_REACHABLE) {
      char root[512];
      rc_prof_root_name(p, s[i].owner, root, sizeof root);
      rc_mbuf_printf(out, "; root=%s", root);
    }
    rc_mbuf_put(out, "\n", 1);
    const struct rc_stack *st = rc_depot_get(s[i].stack);
    for (uint32_t k = 0; st && k < st->depth; k++) {
      struct rc_frame_info fi;
      rc_symbolize(st->pc[k], st->gen, &fi);
      rc_mbuf_printf(out, "    #%u 0x%lx in %s", k, (unsigned long)fi.pc, fi.function[0] ? fi.function : "?");
      if (fi.file) rc_mbuf_printf(out, " %s:%d", fi.file, fi.line);
      rc_mbuf_printf(out, " (%s+0x%lx)\n", base_name(fi.module), (unsigned long)fi.offset);
    }
  }
  rc_vec_free(&sv);
  rc_in_runtime--;
}
