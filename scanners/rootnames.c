/* Names for root words: which global, __thread variable, stack frame or
 * register holds a pointer into the heap. Root words are grouped by name
 * while the world is stopped (or in a snapshot's forked copy), where libdw,
 * dladdr and malloc are off limits (a stopped thread may hold their locks):
 * symbols come straight from the module files (scanners/elfsyms.c), stack
 * frames from return addresses found on the stack,
 * TLS variables from each module's TLS block offset (glibc 2.36, x86-64,
 * TLS_TCB_AT_TP: static TLS blocks sit below the thread pointer).
 * Display names (demangled, file:line) are made at report time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include "../core/retain.h"

/* ---- TLS layout ---- */
static size_t tls_static_size = 4096, tls_tcb_size = 2304;   /* glibc 2.36 x86-64 defaults */

/* reachcheck's own code: frames returning into it are the checker's. */
static uintptr_t self_text_lo, self_text_hi;

static int self_text_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  (void)arg;
  uintptr_t probe = (uintptr_t)&rc_rootnames_init;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) || probe < lo || probe >= lo + ph->p_memsz) continue;
    self_text_lo = lo;
    self_text_hi = lo + ph->p_memsz;
    return 1;
  }
  return 0;
}

void rc_rootnames_init(void)
{
  dl_iterate_phdr(self_text_cb, NULL);
  /* The same GLIBC_PRIVATE symbols scanners/tls.c reads. */
  void (*get_info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
  if (get_info) {
    size_t sz = 0, al = 0;
    get_info(&sz, &al);
    if (sz) tls_static_size = sz;
  }
  const unsigned *tsz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
  if (tsz && *tsz) tls_tcb_size = *tsz;
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
  uintptr_t lo = c->tp + tls_tcb_size > tls_static_size ? c->tp + tls_tcb_size - tls_static_size : 0;
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
  for (const char *c = r->what; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
  h *= 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}

static bool root_eq(const struct rc_root *a, const struct rc_root *b)
{
  return a->sub == b->sub && a->thread == b->thread && a->key == b->key && !strcmp(a->what, b->what);
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

static void copy_what(char *dst, const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n > 39) n = 39;
  if (n) memcpy(dst, src, n);
  dst[n] = 0;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t a = s ? strlen(s) : 0, b = strlen(suffix);
  return a >= b && !strcmp(s + a - b, suffix);
}

/* ---- naming one root word ---- */
static void name_global(struct rc_rootset *s, struct rc_root *r, uintptr_t a, const char *what)
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
    r->key = a;   /* stripped: one root per word, named module+offset */
    r->vaddr = a - bias;
    return;
  }
  r->key = a;
  r->vaddr = a;
  copy_what(r->what, what);
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

static void name_tls(struct rc_rootset *s, struct rc_root *r, uintptr_t a, uintptr_t hi, const char *what)
{
  if (ends_with(what, "DTV")) {
    r->sub = RC_RS_DTV;
    return;
  }
  /* scanners/tls.c: [tp + tcb - static_size, tp + tcb) */
  uintptr_t tp = hi - tls_tcb_size;
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
static void collect_words(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, uintptr_t skip_below)
{
  s->scratch.len = 0;
  if (hi <= lo) return;
  uintptr_t step = rc_opt.unaligned ? 1 : 8;
  uintptr_t p = rc_opt.unaligned ? lo : (lo + 7) & ~(uintptr_t)7;
  uintptr_t end = rc_opt.unaligned ? hi : hi & ~(uintptr_t)7;
  for (; p + 8 <= end; p += step) {
    uintptr_t w;
    memcpy(&w, (const void *)p, sizeof w);
    if (w < rc_heap_lo || w >= rc_heap_hi || p < skip_below) continue;
    struct rc_hdr *h = rc_block_of(w);
    if (!h) continue;
    struct ptrword *pw = rc_vec_push(&s->scratch);
    if (!pw) {
      s->failed = true;
      return;
    }
    pw->addr = p;
    pw->slot = h->slot;
  }
}

/* glibc puts a new thread's TLS and descriptor at the top of its stack
 * mapping, so its stack range, scanned first, already recorded those words
 * under stack frames: give them to the TLS root, one root per word. */
static void retag_stack_words(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const char *what, long thread)
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
  (void)what;
}

void rc_rootset_range(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, enum rc_root_kind kind, const char *what,
                      long thread)
{
  if (kind == RC_ROOT_REGISTER && what && !strcmp(what, "rip") && hi - lo >= 8) {
    struct rip *r = rc_vec_push(&s->rips);
    if (r) {
      r->thread = thread;
      r->pc = *(const uintptr_t *)lo;
    }
  }
  bool checking = kind == RC_ROOT_STACK && thread == (long)syscall(SYS_gettid);
  if (s->rename_from && thread == s->rename_from) thread = s->rename_to;
  bool self = s->skip_tid && thread == s->skip_tid;
  if (self && kind == RC_ROOT_REGISTER) return;
  if (kind == RC_ROOT_TLS && ends_with(what, "DTV") && hi - lo >= 16) {
    /* [dtv[-1], dtv[n]]: dtv[-1].val is n, dtv[k].val module k's block */
    size_t n = *(const uintptr_t *)lo;
    for (size_t k = 1; k <= n && lo + 16 + 16 * k + 8 <= hi; k++) {
      uintptr_t val = *(const uintptr_t *)(lo + 16 + 16 * k);
      if (!val || val == UINTPTR_MAX) continue;
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
  if (kind == RC_ROOT_TLS && s->stack_thread == thread) retag_stack_words(s, lo, hi, what, thread);
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
      name_global(s, &r, pw[i].addr, what);
      break;
    case RC_ROOT_TLS: name_tls(s, &r, pw[i].addr, hi, what); break;
    case RC_ROOT_STACK: name_stack(s, &r, pw[i].addr, thread); break;
    case RC_ROOT_REGISTER:
      r.sub = RC_RS_REGISTER;
      copy_what(r.what, what);
      break;
    case RC_ROOT_MAPPING: {
      uint32_t stack = 0;
      r.thread = 0;
      r.sub = RC_RS_MAPPING;
      if (rc_mapping_info(pw[i].addr, &r.key, &r.vaddr, &stack)) r.pc = stack;
      copy_what(r.what, what);
      break;
    }
    default:
      r.sub = RC_RS_OTHER;
      copy_what(r.what, what);
      break;
    }
    add_edge(s, root_intern(s, &r), pw[i].slot, pw[i].addr);
  }
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
  s->gen = rc_modules_generation();
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
  rc_munmap(s->hash, s->hcap * sizeof *s->hash);
  s->hash = NULL;
  s->hcap = 0;
}

/* ---- report time ---- */
typedef char *(*demangle_fn)(const char *, char *, size_t *, int *);

/* __cxa_demangle if a C++ runtime is loaded (as scanners/symbolize.c). */
void rc_demangle(const char *name, char *out, size_t n)
{
  static demangle_fn fn;
  static bool looked;
  char plain[1024];
  const char *at = strchr(name, '@');   /* "sym@@VERSION" in .symtab */
  if (at && (size_t)(at - name) < sizeof plain) {
    memcpy(plain, name, (size_t)(at - name));
    plain[at - name] = 0;
    name = plain;
  }
  if (name[0] == '_' && name[1] == 'Z' && !looked) {
    rc_in_runtime++;
    fn = (demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
    static const char *const libs[] = {"libstdc++.so.6", "libc++abi.so.1"};
    for (size_t i = 0; !fn && i < sizeof libs / sizeof libs[0]; i++) {
      void *h = dlopen(libs[i], RTLD_LAZY | RTLD_NOLOAD);
      if (h) fn = (demangle_fn)dlsym(h, "__cxa_demangle");
    }
    looked = true;
    rc_in_runtime--;
  }
  if (name[0] == '_' && name[1] == 'Z' && fn) {
    int status = -1;
    rc_in_runtime++;
    char *d = fn(name, NULL, NULL, &status);
    if (d && status == 0) snprintf(out, n, "%s", d);
    free(d);
    rc_in_runtime--;
    if (status == 0) return;
  }
  snprintf(out, n, "%s", name);
}

/* gcc names a static local `name.N` in the symbol table; the function it
 * belongs to is only in DWARF: find the DW_TAG_variable whose location is
 * the symbol's address, under its DW_TAG_subprogram. Report time only
 * (libdw mallocs); results are cached. */
static int local_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                                const char *file, const char *debuglink, GElf_Word crc, char **debuginfo_file)
{
  /* build-id under /usr/lib/debug only: never debuginfod (see symbolize.c) */
  return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc, debuginfo_file);
}

static const Dwfl_Callbacks local_callbacks = {
  .find_debuginfo = local_find_debuginfo,
  .section_address = dwfl_offline_section_address,
};

static bool die_addr_is(Dwarf_Die *die, Dwarf_Addr want, Dwarf_Addr bias)
{
  Dwarf_Attribute attr;
  Dwarf_Op *ops;
  size_t nops;
  if (!dwarf_attr(die, DW_AT_location, &attr) || dwarf_getlocation(&attr, &ops, &nops) || nops != 1) return false;
  return ops[0].atom == DW_OP_addr && ops[0].number + bias == want;
}

static bool find_local(Dwarf_Die *die, Dwarf_Addr want, Dwarf_Addr bias, Dwarf_Die *fn, int depth, char *out, size_t n)
{
  Dwarf_Die child;
  if (depth > 64 || dwarf_child(die, &child)) return false;
  do {
    int tag = dwarf_tag(&child);
    if (tag == DW_TAG_variable && fn && die_addr_is(&child, want, bias)) {
      const char *fname = NULL;
      Dwarf_Attribute a;
      const char *link = dwarf_formstring(dwarf_attr_integrate(fn, DW_AT_linkage_name, &a));
      char buf[256];
      if (link) {
        rc_demangle(link, buf, sizeof buf);
        fname = buf;
      } else {
        fname = dwarf_diename(fn);
      }
      const char *vname = dwarf_diename(&child);
      if (!fname || !vname) return false;
      snprintf(out, n, "%s::%s", fname, vname);
      return true;
    }
    if (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block || tag == DW_TAG_namespace ||
        tag == DW_TAG_class_type || tag == DW_TAG_structure_type || tag == DW_TAG_inlined_subroutine) {
      Dwarf_Die *scope = tag == DW_TAG_subprogram ? &child : fn;
      Dwarf_Die copy = child;
      if (tag == DW_TAG_subprogram) {
        if (find_local(&copy, want, bias, &copy, depth + 1, out, n)) return true;
      } else if (find_local(&copy, want, bias, scope, depth + 1, out, n)) {
        return true;
      }
    }
  } while (!dwarf_siblingof(&child, &child));
  return false;
}

struct local_name { const char *path; uintptr_t vaddr; char name[320]; bool found; };
static struct local_name local_cache[64];
static int local_n;

static bool static_local_name(const char *path, const char *sym, uintptr_t vaddr, char *out, size_t n)
{
  const char *dot = strrchr(sym, '.');
  if (!dot || dot == sym || !dot[1]) return false;
  for (const char *c = dot + 1; *c; c++)
    if (*c < '0' || *c > '9') return false;
  for (int i = 0; i < local_n; i++)
    if (local_cache[i].vaddr == vaddr && !strcmp(local_cache[i].path, path)) {
      if (local_cache[i].found) snprintf(out, n, "%s", local_cache[i].name);
      return local_cache[i].found;
    }
  struct local_name tmp = {path, vaddr, "", false};
  rc_in_runtime++;
  Dwfl *dwfl = dwfl_begin(&local_callbacks);
  if (dwfl) {
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, path, path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    Dwarf_Die *cu = NULL;
    Dwarf_Addr bias = 0;
    while (mod && !tmp.found && (cu = dwfl_module_nextcu(mod, cu, &bias)))
      tmp.found = find_local(cu, vaddr, bias, NULL, 0, tmp.name, sizeof tmp.name);
    dwfl_end(dwfl);
  }
  rc_in_runtime--;
  if (local_n < 64) local_cache[local_n++] = tmp;
  if (tmp.found) snprintf(out, n, "%s", tmp.name);
  return tmp.found;
}

static const char *base_name(const char *path)
{
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path ? path : "?";
}

static const char *kind_name(int kind)
{
  switch (kind) {
  case RC_ROOT_GLOBAL: return "global";
  case RC_ROOT_TLS: return "tls";
  case RC_ROOT_STACK: return "stack";
  case RC_ROOT_REGISTER: return "register";
  case RC_ROOT_MAPPING: return "mapping";
  default: return "other";
  }
}

/* "mapping LO-HI made at FUNC": the first frame of the mmap call's stack
 * (the program's caller of mmap), with its file:line when symbolizing. */
static void describe_mapping(const struct rc_root *r, bool symbolize, struct rc_root_desc *d)
{
  const struct rc_stack *st = r->pc ? rc_depot_get((uint32_t)r->pc) : NULL;
  int n = snprintf(d->name, sizeof d->name, "mapping 0x%lx-0x%lx", (unsigned long)r->key, (unsigned long)r->vaddr);
  if (!st || !st->depth || n < 0 || (size_t)n >= sizeof d->name) return;
  if (symbolize) {
    struct rc_frame_info fi;
    rc_symbolize(st->pc[0], st->gen, &fi);
    snprintf(d->name + n, sizeof d->name - (size_t)n, " made at %s", fi.function[0] ? fi.function : "??");
    d->module = fi.module[0] == '?' ? NULL : fi.module;
    d->file = fi.file;
    d->line = fi.line;
  } else {
    const char *path, *sym;
    uintptr_t bias, start;
    if (rc_module_lookup(st->pc[0], st->gen, &path, &bias)) {
      d->module = path;
      if (rc_elf_sym(path, RC_SYM_FUNC, st->pc[0] - bias - 1, &sym, &start))
        snprintf(d->name + n, sizeof d->name - (size_t)n, " made at %s", sym);
    }
  }
}

void rc_root_describe(const struct rc_root *r, bool symbolize, struct rc_root_desc *d)
{
  memset(d, 0, sizeof *d);
  d->kind = kind_name(r->kind);
  d->module = r->module;
  switch (r->sub) {
  case RC_RS_GLOBAL:
    if (r->sym && symbolize && r->module && static_local_name(r->module, r->sym, r->vaddr, d->name, sizeof d->name)) break;
    if (r->sym && symbolize) rc_demangle(r->sym, d->name, sizeof d->name);
    else if (r->sym) snprintf(d->name, sizeof d->name, "%s", r->sym);
    else if (r->module) snprintf(d->name, sizeof d->name, "%s+0x%lx", base_name(r->module), (unsigned long)r->vaddr);
    else snprintf(d->name, sizeof d->name, "%s+0x%lx", r->what, (unsigned long)r->key);
    break;
  case RC_RS_TLS:
    if (r->sym && symbolize) rc_demangle(r->sym, d->name, sizeof d->name);
    else if (r->sym) snprintf(d->name, sizeof d->name, "%s", r->sym);
    else snprintf(d->name, sizeof d->name, "TLS of thread %d", (int)r->thread);
    break;
  case RC_RS_TLS_DESC: snprintf(d->name, sizeof d->name, "descriptor of thread %d", (int)r->thread); break;
  case RC_RS_DTV: snprintf(d->name, sizeof d->name, "DTV of thread %d", (int)r->thread); break;
  case RC_RS_STACK: {
    d->name[0] = 0;
    if (!r->pc) break;
    if (symbolize) {
      struct rc_frame_info fi;
      rc_symbolize(r->pc, r->gen, &fi);
      snprintf(d->name, sizeof d->name, "%s", fi.function);
      d->module = fi.module[0] == '?' ? NULL : fi.module;
      d->file = fi.file;
      d->line = fi.line;
    } else {
      const char *path, *sym;
      uintptr_t bias, start;
      if (rc_module_lookup(r->pc, r->gen, &path, &bias)) {
        d->module = path;
        if (rc_elf_sym(path, RC_SYM_FUNC, r->pc - bias - (r->frame ? 1 : 0), &sym, &start))
          snprintf(d->name, sizeof d->name, "%s", sym);
      }
    }
    break;
  }
  case RC_RS_REGISTER: snprintf(d->name, sizeof d->name, "%s", r->what); break;
  case RC_RS_LDSO: snprintf(d->name, sizeof d->name, "ld.so allocations"); break;
  case RC_RS_IGNORED: snprintf(d->name, sizeof d->name, "reachcheck_ignore()d blocks"); break;
  case RC_RS_MAPPING: describe_mapping(r, symbolize, d); break;
  default: snprintf(d->name, sizeof d->name, "%s", r->what); break;
  }
  if (!d->name[0]) snprintf(d->name, sizeof d->name, "thread %d stack", (int)r->thread);
}

void rc_root_json(struct rc_buf *b, const struct rc_root *r, bool symbolize, long offset)
{
  struct rc_root_desc d;
  rc_root_describe(r, symbolize, &d);
  rc_buf_printf(b, "{\"kind\":\"%s\",\"name\":", d.kind);
  rc_buf_json_str(b, d.name);
  rc_buf_put(b, ",\"module\":", 10);
  if (d.module) rc_buf_json_str(b, d.module);
  else rc_buf_put(b, "null", 4);
  if (r->thread) rc_buf_printf(b, ",\"thread\":%d", (int)r->thread);
  else rc_buf_put(b, ",\"thread\":null", 14);
  if (r->sub == RC_RS_STACK) {
    const char *path;
    uintptr_t bias = 0;
    bool known = r->pc && rc_module_lookup(r->pc, r->gen, &path, &bias);
    rc_buf_printf(b, ",\"frame\":%u,\"pc\":\"0x%lx\",\"offset_in_module\":\"0x%lx\"", (unsigned)r->frame,
                  (unsigned long)r->pc, (unsigned long)(known ? r->pc - bias : 0));
    if (d.file) {
      rc_buf_put(b, ",\"file\":", 8);
      rc_buf_json_str(b, d.file);
      rc_buf_printf(b, ",\"line\":%d", d.line);
    }
  }
  if (r->sub == RC_RS_MAPPING && d.file) {
    rc_buf_put(b, ",\"file\":", 8);
    rc_buf_json_str(b, d.file);
    rc_buf_printf(b, ",\"line\":%d", d.line);
  }
  if (r->sub == RC_RS_GLOBAL && !r->sym && r->module) rc_buf_printf(b, ",\"vaddr\":\"0x%lx\"", (unsigned long)r->vaddr);
  if (offset >= 0) rc_buf_printf(b, ",\"offset\":%ld", offset);
  rc_buf_put(b, "}", 1);
}

void rc_root_text(struct rc_buf *b, const struct rc_root *r)
{
  struct rc_root_desc d;
  rc_root_describe(r, true, &d);
  switch (r->sub) {
  case RC_RS_GLOBAL:
    rc_buf_printf(b, "global %s (%s)", d.name, base_name(d.module ? d.module : r->what));
    break;
  case RC_RS_TLS:
    if (r->sym) rc_buf_printf(b, "tls %s (%s) of thread %d", d.name, base_name(d.module), (int)r->thread);
    else rc_buf_printf(b, "tls %s", d.name);
    break;
  case RC_RS_TLS_DESC: case RC_RS_DTV: rc_buf_printf(b, "tls %s", d.name); break;
  case RC_RS_STACK:
    rc_buf_printf(b, "stack of thread %d, frame #%u %s", (int)r->thread, (unsigned)r->frame, d.name);
    if (d.file) rc_buf_printf(b, " %s:%d", d.file, d.line);
    break;
  case RC_RS_REGISTER: rc_buf_printf(b, "register %s of thread %d", d.name, (int)r->thread); break;
  case RC_RS_MAPPING:
    rc_buf_printf(b, "%s", d.name);
    if (d.file) rc_buf_printf(b, " %s:%d", d.file, d.line);
    else if (d.module) rc_buf_printf(b, " (%s)", base_name(d.module));
    break;
  default: rc_buf_printf(b, "other: %s", d.name); break;
  }
}
