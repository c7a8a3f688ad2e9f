/* The roots of one check, by name (struct rc_rootset): which global,
 * __thread variable, stack frame or register holds a pointer into the heap.
 * Root words are grouped by name while the world is stopped (or in a
 * snapshot's forked copy), where libdw, dladdr and malloc are off limits (a
 * stopped thread may hold their locks): symbols come straight from the
 * module files (symbols/elfsyms.c), stack frames from return addresses found
 * on the stack, TLS variables from each module's TLS block offset
 * (scanners/glibc.h). Display names are made at report time (rootdesc.c). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <ucontext.h>
#include "retain/retain.h"
#include "scanners/glibc.h"

/* ---- TLS layout ---- */

/* reachcheck's own code: frames returning into it are the checker's. */
static uintptr_t self_text_lo, self_text_hi;

void rc_rootnames_init(void)
{
  rc_self_text(&self_text_lo, &self_text_hi);
}

struct tlsmod { size_t modid; const char *path; uintptr_t memsz, off; bool is_static; };
struct dyntls { long thread; size_t modid; uintptr_t val; };
struct rip { long thread; uintptr_t pc; };
struct ptrword { uintptr_t addr; uint32_t slot; };
struct retslot { uintptr_t slot, pc; };
struct span { uintptr_t lo, hi; };

struct tls_cb_ctx { struct rc_rootset *s; uintptr_t tp; };

/* dl_iterate_phdr nests: the check runs inside one (ld.so's recursive
 * dl_load_write_lock is ours), and in the forked copy the lock's owner
 * field still names this thread. dlpi_tls_data comes from
 * _dl_tls_get_addr_soft, which never allocates. */
static int tls_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  struct tls_cb_ctx *c = arg;
  if (!info->dlpi_tls_modid) return 0;
  uintptr_t memsz = 0, load = 0;
  bool have_load = false;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_TLS) memsz = ph->p_memsz;
    if (ph->p_type == PT_LOAD && !have_load) {
      load = info->dlpi_addr + ph->p_vaddr;
      have_load = true;
    }
  }
  struct tlsmod *t = rc_vec_push(&c->s->tlsmods);
  if (!t) return 0;
  t->modid = info->dlpi_tls_modid;
  t->memsz = memsz;
  t->path = NULL;
  if (have_load) rc_module_lookup(load, c->s->gen, &t->path, NULL);
  uintptr_t data = (uintptr_t)info->dlpi_tls_data;
  const struct rc_tls_layout *l = rc_tls_layout();
  uintptr_t lo = c->tp + l->tcb_size > l->static_size ? c->tp + l->tcb_size - l->static_size : 0;
  t->is_static = data && data >= lo && data < c->tp;
  t->off = t->is_static ? c->tp - data : 0;
  return 0;
}

static void ensure_tls(struct rc_rootset *s)
{
  if (s->tls_ok) return;
  s->tls_ok = true;
  struct tls_cb_ctx c = {s, (uintptr_t)pthread_self()};
  dl_iterate_phdr(tls_cb, &c);
}

static const struct tlsmod *tls_module(struct rc_rootset *s, size_t modid)
{
  ensure_tls(s);
  const struct tlsmod *t = (const struct tlsmod *)s->tlsmods.data;
  for (size_t i = 0; i < s->tlsmods.len; i++)
    if (t[i].modid == modid) return &t[i];
  return NULL;
}

/* ---- executable mappings and return addresses ---- */
static void ensure_exec(struct rc_rootset *s)
{
  if (s->exec_ok) return;
  s->exec_ok = true;
  struct rc_vec maps;
  if (rc_maps_read(&maps)) return;
  const struct rc_map *m = (const struct rc_map *)maps.data;
  for (size_t i = 0; i < maps.len; i++) {
    if ((m[i].prot & 5) != 5) continue;
    struct span *sp = rc_vec_push(&s->exec);
    if (sp) {
      sp->lo = m[i].lo;
      sp->hi = m[i].hi;
    }
  }
  rc_vec_free(&maps);
}

static const struct span *exec_find(const struct rc_rootset *s, uintptr_t a)
{
  const struct span *sp = (const struct span *)s->exec.data;
  size_t lo = 0, hi = s->exec.len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a < sp[mid].lo) hi = mid;
    else if (a >= sp[mid].hi) lo = mid + 1;
    else return &sp[mid];
  }
  return NULL;
}

/* Is pc a return address: is the instruction before it a call? Recognises
 * call rel32 (E8, whose target must be code) and call r/m64 (FF /2, any
 * ModRM/SIB/displacement form; a REX prefix precedes the FF). */
static bool is_return_address(const struct rc_rootset *s, uintptr_t pc)
{
  const struct span *m = exec_find(s, pc - 1);
  if (!m || pc - 8 < m->lo) return false;
  const uint8_t *p = (const uint8_t *)pc;
  if (p[-5] == 0xE8) {
    int32_t rel;
    memcpy(&rel, p - 4, 4);
    if (exec_find(s, pc + (uintptr_t)(intptr_t)rel)) return true;
  }
  for (int len = 2; len <= 7; len++) {
    const uint8_t *q = p - len;
    if (q[0] != 0xFF || ((q[1] >> 3) & 7) != 2) continue;
    int mod = q[1] >> 6, rm = q[1] & 7, n = 2;
    if (mod != 3 && rm == 4) {
      n++;
      if (mod == 0 && (q[2] & 7) == 5) n += 4;
    }
    if (mod == 0 && rm == 5) n += 4;
    else if (mod == 1) n += 1;
    else if (mod == 2) n += 4;
    if (n == len) return true;
  }
  return false;
}

/* Return-address slots of [lo, hi), ascending: a stack word at address a
 * belongs to the frame of the function the nearest return address below a
 * returns into (that call pushed it at the bottom of the frame). */
static void find_frames(struct rc_rootset *s, uintptr_t lo, uintptr_t hi)
{
  ensure_exec(s);
  s->frames.len = 0;
  if (!s->exec.len) return;
  const struct span *sp = (const struct span *)s->exec.data;
  uintptr_t emin = sp[0].lo, emax = sp[s->exec.len - 1].hi;
  for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi; a += 8) {
    uintptr_t w = *(const uintptr_t *)a;
    if (w < emin || w >= emax || !is_return_address(s, w)) continue;
    struct retslot *r = rc_vec_push(&s->frames);
    if (!r) return;
    r->slot = a;
    r->pc = w;
  }
}

static uintptr_t thread_rip(const struct rc_rootset *s, long thread)
{
  const struct rip *r = (const struct rip *)s->rips.data;
  for (size_t i = s->rips.len; i-- > 0;)
    if (r[i].thread == thread) return r[i].pc;
  return 0;
}

/* ---- the root table ---- */
static uint64_t root_hash(const struct rc_root *r)
{
  uint64_t h = ((uint64_t)r->sub << 56) ^ ((uint64_t)(uint32_t)r->thread << 24) ^ r->key;
  h ^= (uint64_t)(uint16_t)r->reg << 40 ^ (uint64_t)r->part << 32;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

static bool root_eq(const struct rc_root *a, const struct rc_root *b)
{
  return a->sub == b->sub && a->thread == b->thread && a->key == b->key && a->reg == b->reg && a->part == b->part;
}

static bool rehash(struct rc_rootset *s, size_t cap)
{
  uint32_t *h = rc_mmap(cap * sizeof *h);
  if (!h) return false;
  for (uint32_t i = 0; i < s->roots.len; i++) {
    size_t k = root_hash(rc_rootset_at(s, i)) & (cap - 1);
    while (h[k]) k = (k + 1) & (cap - 1);
    h[k] = i + 1;
  }
  rc_munmap(s->hash, s->hcap * sizeof *s->hash);
  s->hash = h;
  s->hcap = cap;
  return true;
}

static uint32_t root_intern(struct rc_rootset *s, const struct rc_root *proto)
{
  if ((s->roots.len + 1) * 2 > s->hcap && !rehash(s, s->hcap ? s->hcap * 2 : 256)) {
    s->failed = true;
    return UINT32_MAX;
  }
  size_t k = root_hash(proto) & (s->hcap - 1);
  for (; s->hash[k]; k = (k + 1) & (s->hcap - 1))
    if (root_eq(rc_rootset_at(s, s->hash[k] - 1), proto)) return s->hash[k] - 1;
  struct rc_root *r = rc_vec_push(&s->roots);
  if (!r) {
    s->failed = true;
    return UINT32_MAX;
  }
  *r = *proto;
  s->hash[k] = (uint32_t)s->roots.len;
  return (uint32_t)s->roots.len - 1;
}

/* ---- naming one root word ---- */
static void name_global(struct rc_rootset *s, struct rc_root *r, uintptr_t a, const char *module)
{
  r->sub = RC_RS_GLOBAL;
  const char *path;
  uintptr_t bias, start;
  const char *sym;
  if (rc_module_lookup(a, s->gen, &path, &bias)) {
    r->module = path;
    r->gen = s->gen;
    if (rc_elf_sym(path, RC_SYM_DATA, a - bias, &sym, &start)) {
      r->key = bias + start;
      r->vaddr = start;
      r->sym = sym;
      return;
    }
    /* no symbol (a stripped module): the words of one section between two
     * symbols are one root, "prog:.bss (near sym+0x40)" (rc_elf_region) */
    struct rc_elf_region reg;
    uintptr_t at = rc_elf_region(path, a - bias, &reg) ? reg.start : a - bias;
    r->key = bias + at;
    r->vaddr = at;
    return;
  }
  r->key = a;
  r->vaddr = a;
  r->module = module;   /* the scanner's name: the process lives as long as it */
}

static bool name_tls_block(struct rc_root *r, const struct tlsmod *t, uintptr_t block, uintptr_t a)
{
  if (!t || a < block || a - block >= t->memsz) return false;
  r->sub = RC_RS_TLS;
  r->module = t->path;
  const char *sym;
  uintptr_t start;
  if (t->path && rc_elf_sym(t->path, RC_SYM_TLS, a - block, &sym, &start)) {
    r->key = block + start;
    r->vaddr = start;
    r->sym = sym;
  } else {
    r->key = block;   /* "TLS of thread N" in this module */
  }
  return true;
}

static void name_tls(struct rc_rootset *s, struct rc_root *r, uintptr_t a, uintptr_t hi, enum rc_root_part part)
{
  if (part == RC_PART_DTV) {
    r->sub = RC_RS_DTV;
    return;
  }
  /* scanners/tls.c: [tp + tcb - static_size, tp + tcb) */
  uintptr_t tp = hi - rc_tls_layout()->tcb_size;
  if (a >= tp) {
    r->sub = RC_RS_TLS_DESC;
    return;
  }
  ensure_tls(s);
  const struct tlsmod *t = (const struct tlsmod *)s->tlsmods.data;
  for (size_t i = 0; i < s->tlsmods.len; i++)
    if (t[i].is_static && name_tls_block(r, &t[i], tp - t[i].off, a)) return;
  r->sub = RC_RS_TLS;
  r->key = 0;
}

static void name_stack(struct rc_rootset *s, struct rc_root *r, uintptr_t a, long thread)
{
  const struct retslot *f = (const struct retslot *)s->frames.data;
  size_t lo = 0, hi = s->frames.len;   /* number of return-address slots below a */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (f[mid].slot < a) lo = mid + 1;
    else hi = mid;
  }
  r->sub = RC_RS_STACK;
  r->gen = s->gen;
  r->frame = lo > 0xffff ? 0xffff : (uint16_t)lo;
  if (lo) {
    r->key = f[lo - 1].slot;
    r->pc = f[lo - 1].pc;
  } else {
    r->key = 0;
    r->pc = thread_rip(s, thread);
  }
}

static void add_edge(struct rc_rootset *s, uint32_t root, uint32_t slot, uintptr_t word)
{
  if (root == UINT32_MAX) return;
  struct rc_root_edge *e = rc_vec_push(&s->edges);
  if (!e) {
    s->failed = true;
    return;
  }
  e->root = root;
  e->slot = slot;
  e->word = word;
}

/* Pointer words of [lo, hi) into s->scratch, scanned exactly as the marker
 * scans (8-aligned words, or every byte offset with unaligned=1). */
struct collect { struct rc_rootset *s; uintptr_t skip_below; };

static bool collect_word(void *ctx, uintptr_t at, struct rc_hdr *h)
{
  struct collect *c = ctx;
  if (at < c->skip_below) return true;
  struct ptrword *pw = rc_vec_push(&c->s->scratch);
  if (!pw) {
    c->s->failed = true;
    return false;
  }
  pw->addr = at;
  pw->slot = h->slot;
  return true;
}

static void collect_words(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, uintptr_t skip_below)
{
  s->scratch.len = 0;
  struct collect c = {s, skip_below};
  rc_scan_pointers(lo, hi, collect_word, &c);
}

/* glibc puts a new thread's TLS and descriptor at the top of its stack
 * mapping, so its stack range, scanned first, already recorded those words
 * under stack frames: give them to the TLS root, one root per word. */
static void retag_stack_words(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, long thread)
{
  struct rc_root_edge *e = (struct rc_root_edge *)s->edges.data;
  size_t w = s->stack_edges_from;
  for (size_t i = s->stack_edges_from; i < s->edges.len; i++) {
    if (e[i].word >= lo && e[i].word < hi && rc_rootset_at(s, e[i].root)->sub == RC_RS_STACK &&
        rc_rootset_at(s, e[i].root)->thread == thread)
      continue;   /* dropped here; the TLS range records it again */
    e[w++] = e[i];
  }
  s->edges.len = w;
}

/* checking: the range is the checking thread's own stack. */
static void range_of(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const struct rc_root_range *range, bool checking)
{
  enum rc_root_kind kind = range->kind;
  long thread = range->thread;
  if (range->part == RC_PART_REGISTER && range->reg == REG_RIP && hi - lo >= 8) {
    struct rip *r = rc_vec_push(&s->rips);
    if (r) {
      r->thread = thread;
      r->pc = *(const uintptr_t *)lo;
    }
  }
  if (s->rename_from && thread == s->rename_from) thread = s->rename_to;
  bool self = s->skip_tid && thread == s->skip_tid;
  if (self && kind == RC_ROOT_REGISTER) return;
  if (range->part == RC_PART_DTV && hi - lo >= 16) {
    /* [dtv[-1], dtv[n]]: dtv[-1].val is n, dtv[k].val module k's block */
    const struct rc_dtv_entry *dtv = (const struct rc_dtv_entry *)lo + 1;
    size_t n = dtv[-1].val;
    for (size_t k = 1; k <= n && (uintptr_t)&dtv[k + 1] <= hi; k++) {
      uintptr_t val = dtv[k].val;
      if (!val || val == RC_GLIBC_DTV_UNALLOCATED) continue;
      struct dyntls *d = rc_vec_push(&s->dyntls);
      if (d) {
        d->thread = thread;
        d->modid = k;
        d->val = val;
      }
    }
  }
  uintptr_t skip = self && kind == RC_ROOT_STACK ? s->skip_below : 0;
  if (checking) {
    /* The checking thread: below its outermost reachcheck frame lie only the
     * checker's own frames and what the marker left in dead stack. */
    find_frames(s, lo, hi);
    const struct retslot *f = (const struct retslot *)s->frames.data;
    for (size_t i = s->frames.len; i-- > 0;)
      if (f[i].pc >= self_text_lo && f[i].pc < self_text_hi) {
        if (f[i].slot + 8 > skip) skip = f[i].slot + 8;
        break;
      }
  }
  if (kind == RC_ROOT_STACK && s->stack_thread != thread) {
    s->stack_thread = thread;
    s->stack_edges_from = s->edges.len;
  }
  if (kind == RC_ROOT_TLS && s->stack_thread == thread) retag_stack_words(s, lo, hi, thread);
  collect_words(s, lo, hi, skip);
  if (!s->scratch.len) return;
  if (kind == RC_ROOT_STACK) find_frames(s, lo, hi);
  const struct ptrword *pw = (const struct ptrword *)s->scratch.data;
  for (size_t i = 0; i < s->scratch.len; i++) {
    struct rc_root r;
    memset(&r, 0, sizeof r);
    r.kind = (uint8_t)kind;
    r.thread = (int32_t)thread;
    switch (kind) {
    case RC_ROOT_GLOBAL:
      r.thread = 0;
      name_global(s, &r, pw[i].addr, range->module);
      break;
    case RC_ROOT_TLS: name_tls(s, &r, pw[i].addr, hi, range->part); break;
    case RC_ROOT_STACK: name_stack(s, &r, pw[i].addr, thread); break;
    case RC_ROOT_REGISTER:
      r.sub = RC_RS_REGISTER;
      r.reg = (int16_t)range->reg;
      break;
    case RC_ROOT_MAPPING: {
      uint32_t stack = 0;
      r.thread = 0;
      r.sub = RC_RS_MAPPING;
      if (rc_mapping_info(pw[i].addr, &r.key, &r.vaddr, &stack)) r.pc = stack;
      break;
    }
    default:
      r.sub = RC_RS_OTHER;
      r.part = (uint8_t)range->part;
      break;
    }
    add_edge(s, root_intern(s, &r), pw[i].slot, pw[i].addr);
  }
}

/* Is range the stack of the thread running this (the checking thread)? */
static bool own_stack(const struct rc_root_range *range)
{
  return range->kind == RC_ROOT_STACK && range->thread == (long)syscall(SYS_gettid);
}

void rc_rootset_range(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const struct rc_root_range *range)
{
  /* Here, on the checking thread, not later: ensure_tls needs this
   * thread's pthread_self, and its dl_iterate_phdr would wait forever on
   * the helper thread (check.c runs a concurrent after-mark hook there
   * while this thread holds ld.so's lock). */
  ensure_tls(s);
  range_of(s, lo, hi, range, own_stack(range));
}

struct deferred { uintptr_t lo, hi; struct rc_root_range range; bool checking; };

void rc_rootset_defer(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const struct rc_root_range *range)
{
  ensure_tls(s);   /* on the checking thread, as rc_rootset_range */
  if (!s->deferred.elem) rc_vec_init(&s->deferred, sizeof(struct deferred));
  struct deferred *d = rc_vec_push(&s->deferred);
  if (!d) {
    s->failed = true;
    return;
  }
  *d = (struct deferred){lo, hi, *range, own_stack(range)};
}

void rc_rootset_replay(struct rc_rootset *s)
{
  const struct deferred *d = (const struct deferred *)s->deferred.data;
  for (size_t i = 0; i < s->deferred.len; i++) range_of(s, d[i].lo, d[i].hi, &d[i].range, d[i].checking);
  rc_vec_free(&s->deferred);
}

void rc_rootset_block(struct rc_rootset *s, struct rc_hdr *h)
{
  uintptr_t u = (uintptr_t)rc_hdr_user(h), e = u + rc_hdr_size(h);
  collect_words(s, u, e, 0);
  if (!s->scratch.len) return;
  bool ldso = rc_hdr_flags(h) & RC_F_LDSO;
  const struct dyntls *dt = NULL;
  if (ldso) {   /* a dynamic TLS block (glibc allocates them from ld.so)? */
    const struct dyntls *d = (const struct dyntls *)s->dyntls.data;
    for (size_t i = 0; i < s->dyntls.len && !dt; i++)
      if (d[i].val >= u && d[i].val < e) dt = &d[i];
  }
  const struct ptrword *pw = (const struct ptrword *)s->scratch.data;
  for (size_t i = 0; i < s->scratch.len; i++) {
    struct rc_root r;
    memset(&r, 0, sizeof r);
    r.kind = RC_ROOT_OTHER;
    if (dt && name_tls_block(&r, tls_module(s, dt->modid), dt->val, pw[i].addr)) {
      r.kind = RC_ROOT_TLS;
      r.thread = (int32_t)dt->thread;
    } else {
      r.sub = ldso ? RC_RS_LDSO : RC_RS_IGNORED;
    }
    add_edge(s, root_intern(s, &r), pw[i].slot, pw[i].addr);
  }
}

void rc_rootset_blocks(struct rc_rootset *s, const struct rc_mark *m)
{
  if (s->blocks_added) return;
  s->blocks_added = true;
  struct rc_hdr *h;
  for (uint32_t i = 1; (h = rc_mark_root_block(m, &i)) != NULL; i++)
    if (rc_mark_is_marked(m, i)) rc_rootset_block(s, h);
}

void rc_rootset_init(struct rc_rootset *s)
{
  memset(s, 0, sizeof *s);
  rc_vec_init(&s->roots, sizeof(struct rc_root));
  rc_vec_init(&s->edges, sizeof(struct rc_root_edge));
  rc_vec_init(&s->scratch, sizeof(struct ptrword));
  rc_vec_init(&s->frames, sizeof(struct retslot));
  rc_vec_init(&s->exec, sizeof(struct span));
  rc_vec_init(&s->tlsmods, sizeof(struct tlsmod));
  rc_vec_init(&s->dyntls, sizeof(struct dyntls));
  rc_vec_init(&s->rips, sizeof(struct rip));
  s->gen = rc_stack_generation();
}

void rc_rootset_free(struct rc_rootset *s)
{
  rc_vec_free(&s->roots);
  rc_vec_free(&s->edges);
  rc_vec_free(&s->scratch);
  rc_vec_free(&s->frames);
  rc_vec_free(&s->exec);
  rc_vec_free(&s->tlsmods);
  rc_vec_free(&s->dyntls);
  rc_vec_free(&s->rips);
  rc_vec_free(&s->deferred);
  rc_munmap(s->hash, s->hcap * sizeof *s->hash);
  s->hash = NULL;
  s->hcap = 0;
}

struct forked { struct rc_rootset *rs; void *ctx; void (*after_mark)(void *, struct rc_mark *); void (*in_child)(void *, struct rc_result *); };

static void forked_root(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r)
{
  struct forked *f = ctx;
  if (!f->rs->rename_from) f->rs->rename_from = (long)syscall(SYS_gettid);   /* the copy's thread */
  rc_rootset_range(f->rs, lo, hi, r);
}
static void forked_after_mark(void *ctx, struct rc_mark *m)
{
  struct forked *f = ctx;
  f->after_mark(f->ctx, m);
}
static void forked_in_child(void *ctx, struct rc_result *res)
{
  struct forked *f = ctx;
  f->in_child(f->ctx, res);
}

void *rc_rootset_forked_ctx(size_t bytes)
{
  if (!rc_heap_ready()) {
    errno = EAGAIN;
    return NULL;
  }
  void *c = rc_mmap(bytes);
  if (!c) errno = ENOMEM;
  return c;
}

int rc_rootset_check_forked(struct rc_rootset *rs, void *ctx, void (*after_mark)(void *ctx, struct rc_mark *m),
                            void (*in_child)(void *ctx, struct rc_result *res), struct rc_result *res)
{
  rc_modules_refresh();
  rc_rootset_init(rs);
  rs->rename_to = (long)syscall(SYS_gettid);
  /* on this stack, which the copy inherits */
  struct forked f = {rs, ctx, after_mark, in_child};
  struct rc_check_hooks hooks = {.ctx = &f, .root = forked_root, .after_mark = forked_after_mark, .in_child = forked_in_child};
  struct rc_check_req req = {.mode = RC_CHECK_FORK | RC_CHECK_NO_GROUPS, .hooks = &hooks};
  int err = rc_check_run(&req, res);
  rc_result_free(res);
  return err;
}

uint32_t rc_top_roots(const uint64_t *rbytes, const uint64_t *rblocks, uint32_t nroots, uint32_t *out, uint32_t k,
                      uint32_t *nretaining)
{
  uint32_t n = 0, any = 0;
  for (uint32_t r = 0; r < nroots; r++) {
    if (!rblocks[r + 1]) continue;
    any++;
    /* insertion into the top-k list, biggest first */
    uint32_t i = n < k ? n++ : k;
    if (i == k) {
      if (!k || rbytes[r + 1] <= rbytes[out[k - 1] + 1]) continue;
      i = k - 1;
    }
    while (i > 0 && rbytes[out[i - 1] + 1] < rbytes[r + 1]) {
      out[i] = out[i - 1];
      i--;
    }
    out[i] = r;
  }
  if (nretaining) *nretaining = any;
  return n;
}
