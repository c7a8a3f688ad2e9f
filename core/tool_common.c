/* Loading snapshots and reports for the offline tools, and symbolizing the
 * raw frames a snapshot's forked copy wrote (module + offset): one libdwfl
 * session per module file, local debug files only (no debuginfod, as in
 * scanners/symbolize.c), C++ names demangled through libstdc++ if present. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tool_common.h"
#include "../scanners/dwfl_local.h"

void *txmalloc(size_t n)
{
  void *p = calloc(1, n ? n : 1);
  if (!p) {
    fprintf(stderr, "reachcheck: out of memory\n");
    exit(2);
  }
  return p;
}

void *txrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "reachcheck: out of memory\n");
    exit(2);
  }
  return q;
}

char *txstrdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = txmalloc(n);
  memcpy(p, s, n);
  return p;
}

const char *tbase(const char *path)
{
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path ? path : "?";
}

bool ttty(void)
{
  static int t = -1;
  if (t < 0) t = isatty(2);
  return t;
}

/* ---- string map ---- */
static uint64_t hash_str(const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

void *tmap_get(const struct tmap *m, const char *key)
{
  if (!m->cap) return NULL;
  for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) return NULL;
    if (!strcmp(m->keys[i], key)) return m->vals[i];
  }
}

void tmap_put(struct tmap *m, char *key, void *val)
{
  if ((m->n + 1) * 2 > m->cap) {
    struct tmap n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = txmalloc(n.cap * sizeof *n.keys);
    n.vals = txmalloc(n.cap * sizeof *n.vals);
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) tmap_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
  }
  for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) {
      m->keys[i] = key;
      m->vals[i] = val;
      m->n++;
      return;
    }
    if (!strcmp(m->keys[i], key)) {
      m->vals[i] = val;
      return;
    }
  }
}

/* Like tmap_put, but the map owns a copy of key, made only when it is new
 * (the tools' maps live until the process exits). */
// NOLINTBEGIN(clang-analyzer-unix.Malloc): the map keeps copy until exit
void tmap_put_copy(struct tmap *m, const char *key, void *val)
{
  if (m->cap)
    for (size_t i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
      if (!strcmp(m->keys[i], key)) {
        m->vals[i] = val;
        return;
      }
  char *copy = txstrdup(key);
  tmap_put(m, copy, val);
}
// NOLINTEND(clang-analyzer-unix.Malloc)

void tmap_free(struct tmap *m)
{
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

/* ---- symbols ---- */
static const char *demangle(const char *name)
{
  static rc_demangle_fn fn;
  static bool looked;
  if (!looked && name[0] == '_' && name[1] == 'Z') {
    looked = true;
    void *h = dlopen("libstdc++.so.6", RTLD_LAZY);
    if (h) fn = (rc_demangle_fn)dlsym(h, "__cxa_demangle");
  }
  char *d = rc_symbol_display(name, fn);
  return d ? d : txstrdup(name);
}


static struct tmap modules;   /* path -> Dwfl_Module (or a sentinel) */
static char no_module;

static Dwfl_Module *module_of(const char *path)
{
  void *m = tmap_get(&modules, path);
  if (m) return m == &no_module ? NULL : m;
  Dwfl_Module *mod = NULL;
  Dwfl *dwfl = path[0] == '/' ? dwfl_begin(&rc_dwfl_local_callbacks) : NULL;
  if (dwfl) {
    dwfl_report_begin(dwfl);
    /* base 0 + p_vaddr: module addresses are the offsets the runtime wrote */
    mod = dwfl_report_elf(dwfl, path, path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    if (!mod) dwfl_end(dwfl);
  }
  tmap_put_copy(&modules, path, mod ? (void *)mod : &no_module);
  return mod;
}

void tframe_symbolize(struct tframe *f)
{
  if (f->done) return;
  f->done = true;
  Dwfl_Module *m = f->module ? module_of(f->module) : NULL;
  const char *name = NULL;
  if (m) {
    /* a return address: look up the call instruction before it */
    Dwarf_Addr a = f->offset ? f->offset - 1 : 0;
    GElf_Off off;
    GElf_Sym sym;
    name = dwfl_module_addrinfo(m, a, &off, &sym, NULL, NULL, NULL);
    Dwfl_Line *line = dwfl_module_getsrc(m, a);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
      f->file = txstrdup(file);
      f->line = lineno;
    }
  }
  if (name) f->function = demangle(name);
  else if (f->function && f->function[0]) f->function = demangle(f->function);
}

const char *tsite_label(struct tsite *s, char *buf, size_t n)
{
  if (!s || !s->nframes) {
    snprintf(buf, n, "%s", s ? "<no stack>" : "other sites");
    return buf;
  }
  struct tframe *f = &s->frames[0];
  tframe_symbolize(f);
  const char *fn = f->function && f->function[0] ? f->function : "??";
  if (f->file) snprintf(buf, n, "%s %s:%d", fn, tbase(f->file), f->line);
  else snprintf(buf, n, "%s (%s+0x%llx)", fn, tbase(f->module), f->offset);
  return buf;
}

/* ---- JSON output ---- */
void tjson_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void tjson_frames(FILE *f, struct tsite *s)
{
  fputc('[', f);
  for (size_t i = 0; s && i < s->nframes; i++) {
    struct tframe *fr = &s->frames[i];
    tframe_symbolize(fr);
    fputs(i ? ",{\"function\":" : "{\"function\":", f);
    tjson_str(f, fr->function ? fr->function : "");
    fputs(",\"file\":", f);
    tjson_str(f, fr->file ? fr->file : "");
    fprintf(f, ",\"line\":%d,\"module\":", fr->line);
    tjson_str(f, fr->module ? fr->module : "?");
    fprintf(f, ",\"offset\":\"0x%llx\"}", fr->offset);
  }
  fputc(']', f);
}

void tjson_root(FILE *f, const struct troot *r)
{
  fputs("{\"kind\":", f);
  tjson_str(f, r->kind);
  fputs(",\"name\":", f);
  tjson_str(f, r->name);
  fputs(",\"module\":", f);
  if (r->module) tjson_str(f, r->module);
  else fputs("null", f);
  if (r->thread) fprintf(f, ",\"thread\":%lld", r->thread);
  else fputs(",\"thread\":null", f);
  fputc('}', f);
}

/* ---- loading ---- */
static void load_frames(struct tsite *s, const struct rj *stack)
{
  s->nframes = rj_len(stack);
  s->frames = txmalloc((s->nframes ? s->nframes : 1) * sizeof *s->frames);
  size_t keylen = 1;
  for (size_t i = 0; i < s->nframes; i++) {
    const struct rj *fr = rj_at(stack, i);
    struct tframe *f = &s->frames[i];
    f->function = rj_str(rj_get(fr, "function"), "");
    f->module = rj_str(rj_get(fr, "module"), "?");
    f->offset = rj_hex(rj_get(fr, "offset"), 0);
    f->pc = rj_hex(rj_get(fr, "pc"), 0);
    const char *file = rj_str(rj_get(fr, "file"), NULL);
    if (file && file[0]) {   /* a report's frames are symbolized already */
      f->file = file;
      f->line = (int)rj_int(rj_get(fr, "line"), 0);
      f->done = true;
    }
    keylen += strlen(f->module) + 24;
  }
  s->key = txmalloc(keylen);
  size_t o = 0;
  for (size_t i = 0; i < s->nframes; i++)
    o += (size_t)snprintf(s->key + o, keylen - o, "%s:%llx;", s->frames[i].module, s->frames[i].offset);
}

static void root_label(struct troot *r)
{
  char buf[1024];
  if (r->shared) snprintf(buf, sizeof buf, "reachable from several roots (retained by none)");
  else if (!strcmp(r->kind, "global")) snprintf(buf, sizeof buf, "global %s (%s)", r->name, tbase(r->module));
  else if (!strcmp(r->kind, "tls") && r->module) snprintf(buf, sizeof buf, "tls %s (%s) of thread %lld", r->name, tbase(r->module), r->thread);
  else if (!strcmp(r->kind, "tls")) snprintf(buf, sizeof buf, "tls %s", r->name);
  else if (!strcmp(r->kind, "stack") && r->file)
    snprintf(buf, sizeof buf, "stack of thread %lld: %s %s:%d", r->thread, r->name, tbase(r->file), r->line);
  else if (!strcmp(r->kind, "stack")) snprintf(buf, sizeof buf, "stack of thread %lld: %s", r->thread, r->name);
  else if (!strcmp(r->kind, "register")) snprintf(buf, sizeof buf, "register %s of thread %lld", r->name, r->thread);
  else if (!strcmp(r->kind, "mapping") && r->file) snprintf(buf, sizeof buf, "%s %s:%d", r->name, tbase(r->file), r->line);
  else if (!strcmp(r->kind, "mapping")) snprintf(buf, sizeof buf, "%s", r->name);
  else snprintf(buf, sizeof buf, "other: %s", r->name);
  r->label = txstrdup(buf);
}

static void load_root(struct troot *r, const struct rj *root)
{
  r->kind = rj_str(rj_get(root, "kind"), "other");
  r->name = rj_str(rj_get(root, "name"), "?");
  r->module = rj_str(rj_get(root, "module"), NULL);
  r->thread = rj_int(rj_get(root, "thread"), 0);
  r->file = rj_str(rj_get(root, "file"), NULL);
  r->line = (int)rj_int(rj_get(root, "line"), 0);
  if (r->name[0] == '_' && r->name[1] == 'Z') r->name = demangle(r->name);
  bool per_thread = strcmp(r->kind, "global") != 0;
  size_t n = strlen(r->kind) + strlen(r->name) + (r->module ? strlen(r->module) : 0) + 64;
  r->key = txmalloc(n);
  snprintf(r->key, n, "%s|%s|%s|%lld", r->kind, r->name, r->module ? r->module : "", per_thread ? r->thread : 0);
  root_label(r);
}

static int site_cmp(const void *a, const void *b)
{
  const struct tsite *x = *(const struct tsite *const *)a, *y = *(const struct tsite *const *)b;
  if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
  if (x->blocks != y->blocks) return x->blocks < y->blocks ? 1 : -1;
  return strcmp(x->key, y->key);
}

static int root_cmp(const void *a, const void *b)
{
  const struct troot *x = a, *y = b;
  if (x->shared != y->shared) return x->shared ? 1 : -1;
  if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
  if (x->blocks != y->blocks) return x->blocks < y->blocks ? 1 : -1;
  return strcmp(x->key, y->key);
}

static int fail_load(const char *path, const char *why)
{
  fprintf(stderr, "reachcheck: %s: %s\n", path, why);
  return -1;
}

/* top_sites of one root: snapshot entries name a site id, report entries
 * carry their stack (sites are then made from them, merged by key). */
static void load_refs(struct tmodel *m, struct troot *r, const struct rj *top, struct tmap *by_id, struct tmap *by_key,
                      size_t *cap)
{
  r->nsites = rj_len(top);
  r->sites = txmalloc((r->nsites ? r->nsites : 1) * sizeof *r->sites);
  for (size_t k = 0; k < r->nsites; k++) {
    const struct rj *e = rj_at(top, k);
    struct tref *ref = &r->sites[k];
    ref->blocks = (unsigned long long)rj_int(rj_get(e, "blocks"), 0);
    ref->bytes = (unsigned long long)rj_int(rj_get(e, "bytes"), 0);
    const struct rj *stack = rj_get(e, "stack");
    if (stack) {
      struct tsite tmp = {0};
      load_frames(&tmp, stack);
      struct tsite *s = tmap_get(by_key, tmp.key);
      if (!s) {
        s = txmalloc(sizeof *s);
        *s = tmp;
        s->id = -1;
        tmap_put(by_key, s->key, s);
        if (m->nsites == *cap) m->sites = txrealloc(m->sites, (*cap = *cap ? *cap * 2 : 64) * sizeof *m->sites);
        m->sites[m->nsites++] = s;
      } else {
        free(tmp.frames);
        free(tmp.key);
      }
      s->blocks += ref->blocks;
      s->bytes += ref->bytes;
      ref->site = s;
    } else {
      char id[32];
      snprintf(id, sizeof id, "%lld", rj_int(rj_get(e, "site"), 0));
      ref->site = tmap_get(by_id, id);   /* NULL: "other sites" */
    }
  }
}

int tmodel_load(const char *path, struct tmodel *m)
{
  memset(m, 0, sizeof *m);
  m->path = path;
  char err[512];
  m->doc = rj_load(path, err, sizeof err);
  if (!m->doc) {
    fprintf(stderr, "reachcheck: %s\n", err);
    return -1;
  }
  const struct rj *d = m->doc;
  if (d->type != RJ_OBJ || strcmp(rj_str(rj_get(d, "tool"), ""), "reachcheck"))
    return fail_load(path, "not a reachcheck snapshot or JSON report (no \"tool\":\"reachcheck\")");
  const char *format = rj_str(rj_get(d, "format"), "report");
  m->snapshot = !strcmp(format, "snapshot");
  if (!m->snapshot && strcmp(format, "report"))
    return fail_load(path, "a reachcheck file, but neither a snapshot nor a report");
  const struct rj *ret = rj_get(d, "retainers");
  if (!ret || ret->type != RJ_ARR)
    return fail_load(path, "has no \"retainers\" (a report written with retainers=0?)");
  m->pid = rj_int(rj_get(d, "pid"), 0);
  m->seq = rj_int(rj_get(d, "seq"), 0);
  m->time_ms = rj_int(rj_get(d, "time_ms"), 0);
  const struct rj *sum = rj_get(d, "summary");
  const struct rj *live = rj_get(sum, m->snapshot ? "live" : "reachable"), *reach = rj_get(sum, "reachable");
  m->live_blocks = (unsigned long long)rj_int(rj_get(live, "blocks"), 0);
  m->live_bytes = (unsigned long long)rj_int(rj_get(live, "bytes"), 0);
  m->reach_blocks = (unsigned long long)rj_int(rj_get(reach, "blocks"), 0);
  m->reach_bytes = (unsigned long long)rj_int(rj_get(reach, "bytes"), 0);

  struct tmap by_id = {0}, by_key = {0};
  size_t cap = 0;
  const struct rj *sites = rj_get(d, "sites");
  for (size_t i = 0; i < rj_len(sites); i++) {
    const struct rj *e = rj_at(sites, i);
    struct tsite *s = txmalloc(sizeof *s);
    s->id = rj_int(rj_get(e, "id"), 0);
    s->blocks = (unsigned long long)rj_int(rj_get(e, "blocks"), 0);
    s->bytes = (unsigned long long)rj_int(rj_get(e, "bytes"), 0);
    s->reach_blocks = (unsigned long long)rj_int(rj_get(rj_get(e, "reachable"), "blocks"), 0);
    s->reach_bytes = (unsigned long long)rj_int(rj_get(rj_get(e, "reachable"), "bytes"), 0);
    load_frames(s, rj_get(e, "stack"));
    char id[32];
    snprintf(id, sizeof id, "%lld", s->id);
    struct tsite *same = tmap_get(&by_key, s->key);
    if (same) {   /* same frames, two ids (a module reloaded): merge */
      same->blocks += s->blocks;
      same->bytes += s->bytes;
      same->reach_blocks += s->reach_blocks;
      same->reach_bytes += s->reach_bytes;
      tmap_put_copy(&by_id, id, same);
      free(s->frames);
      free(s->key);
      free(s);
      continue;
    }
    tmap_put_copy(&by_id, id, s);
    tmap_put(&by_key, s->key, s);
    if (m->nsites == cap) m->sites = txrealloc(m->sites, (cap = cap ? cap * 2 : 64) * sizeof *m->sites);
    m->sites[m->nsites++] = s;
  }
  const struct rj *shared = rj_get(d, "shared");
  if (!shared) shared = rj_get(rj_get(d, "retention"), "shared");
  m->nroots = rj_len(ret) + (shared ? 1 : 0);
  m->roots = txmalloc((m->nroots ? m->nroots : 1) * sizeof *m->roots);
  for (size_t i = 0; i < rj_len(ret); i++) {
    const struct rj *e = rj_at(ret, i);
    struct troot *r = &m->roots[i];
    load_root(r, rj_get(e, "root"));
    r->blocks = (unsigned long long)rj_int(rj_get(rj_get(e, "retained"), "blocks"), 0);
    r->bytes = (unsigned long long)rj_int(rj_get(rj_get(e, "retained"), "bytes"), 0);
    load_refs(m, r, rj_get(e, "top_sites"), &by_id, &by_key, &cap);
  }
  if (shared) {
    struct troot *r = &m->roots[m->nroots - 1];
    r->shared = true;
    r->kind = "shared";
    r->name = "reachable from several roots";
    r->key = txstrdup("shared");
    root_label(r);
    const struct rj *rt = rj_get(shared, "retained");
    r->blocks = (unsigned long long)rj_int(rj_get(rt ? rt : shared, "blocks"), 0);
    r->bytes = (unsigned long long)rj_int(rj_get(rt ? rt : shared, "bytes"), 0);
    load_refs(m, r, rj_get(shared, "top_sites"), &by_id, &by_key, &cap);
  }
  for (size_t i = 0; i < by_id.cap; i++) free(by_id.keys[i]);
  tmap_free(&by_id);
  tmap_free(&by_key);
  if (m->nsites) qsort(m->sites, m->nsites, sizeof *m->sites, site_cmp);
  if (m->nroots) qsort(m->roots, m->nroots, sizeof *m->roots, root_cmp);
  return 0;
}

void tmodel_free(struct tmodel *m)
{
  /* The tools exit right after: only the document is worth giving back. */
  rj_free(m->doc);
  m->doc = NULL;
}
