/* Loading a snapshot or a JSON report into the tools' model: roots and
 * allocation sites, matched by frames (module + offset), biggest first. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tool_common.h"

void tsite_load_frames(struct tsite *s, const struct rj *stack)
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
  if (r->name[0] == '_' && r->name[1] == 'Z') r->name = tsym_demangle(r->name);
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

/* A count ("blocks", "bytes") of a JSON object; 0 when absent. */
static unsigned long long count(const struct rj *obj, const char *key)
{
  return (unsigned long long)rj_int(rj_get(obj, key), 0);
}

/* Step 1: the file ("-" is stdin) as a JSON document; one error line if it
 * cannot be read or is not JSON. */
static int read_document(const char *path, struct tmodel *m)
{
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) {
    fprintf(stderr, "reachcheck: cannot read '%s': %s\n", path, strerror(errno));
    return -1;
  }
  /* Progress for files of more than 64 MiB (a byte of JSON read costs about
   * 1/64 of what a block costs a check: rc_progress_tty's measure). */
  struct stat st;
  uint64_t size = !fstat(fileno(f), &st) && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
  bool tty = rc_progress_tty(size >> 6);
  char what[300];
  snprintf(what, sizeof what, "reading %s (MiB)", tbase(path));
  size_t cap = 1 << 16, len = 0, n;
  char *buf = txmalloc(cap);
  while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
    len += n;
    if (len == cap) buf = txrealloc(buf, cap *= 2);
    rc_progress(tty, what, len >> 20, size >> 20);
  }
  rc_progress(tty, "", 1, 1);
  int bad = ferror(f) ? (errno ? errno : EIO) : 0;
  if (f != stdin) fclose(f);
  if (bad) {
    fprintf(stderr, "reachcheck: cannot read '%s': %s\n", path, strerror(bad));
    free(buf);
    return -1;
  }
  char err[512];
  m->doc = rj_parse(buf, len, path, err, sizeof err);
  free(buf);
  if (!m->doc) {
    fprintf(stderr, "reachcheck: %s\n", err);
    return -1;
  }
  return 0;
}

/* Step 2: a snapshot or a report (with retainers), and its summary. */
static int read_header(struct tmodel *m)
{
  const struct rj *d = m->doc;
  if (d->type != RJ_OBJ || strcmp(rj_str(rj_get(d, "tool"), ""), "reachcheck"))
    return fail_load(m->path, "not a reachcheck snapshot or JSON report (no \"tool\":\"reachcheck\")");
  const char *format = rj_str(rj_get(d, "format"), "report");
  m->snapshot = !strcmp(format, "snapshot");
  if (!m->snapshot && strcmp(format, "report"))
    return fail_load(m->path, "a reachcheck file, but neither a snapshot nor a report");
  const struct rj *ret = rj_get(d, "retainers");
  if (!ret || ret->type != RJ_ARR)
    return fail_load(m->path, "has no \"retainers\" (a report written with retainers=0?)");
  m->pid = rj_int(rj_get(d, "pid"), 0);
  m->seq = rj_int(rj_get(d, "seq"), 0);
  m->time_ms = rj_int(rj_get(d, "time_ms"), 0);
  const struct rj *sum = rj_get(d, "summary");
  const struct rj *live = rj_get(sum, m->snapshot ? "live" : "reachable"), *reach = rj_get(sum, "reachable");
  m->live_blocks = count(live, "blocks");
  m->live_bytes = count(live, "bytes");
  m->reach_blocks = count(reach, "blocks");
  m->reach_bytes = count(reach, "bytes");
  return 0;
}

/* While loading: the sites by the file's id and by frames. */
struct loader {
  struct tmodel *m;
  struct tmap by_id;    /* "id" -> site (the keys are the map's) */
  struct tmap by_key;   /* frames -> site (the keys are the sites') */
  size_t cap;           /* of m->sites */
};

static void add_site(struct loader *l, struct tsite *s)
{
  struct tmodel *m = l->m;
  tmap_put(&l->by_key, s->key, s);
  if (m->nsites == l->cap) m->sites = txrealloc(m->sites, (l->cap = l->cap ? l->cap * 2 : 64) * sizeof *m->sites);
  m->sites[m->nsites++] = s;
}

/* Step 3: a snapshot's sites (a report has none: its sites come with the
 * roots). Two ids with the same frames (a module reloaded) are one site. */
static void load_sites(struct loader *l, const struct rj *sites)
{
  for (size_t i = 0; i < rj_len(sites); i++) {
    const struct rj *e = rj_at(sites, i);
    struct tsite *s = txmalloc(sizeof *s);
    s->id = rj_int(rj_get(e, "id"), 0);
    s->blocks = count(e, "blocks");
    s->bytes = count(e, "bytes");
    s->reach_blocks = count(rj_get(e, "reachable"), "blocks");
    s->reach_bytes = count(rj_get(e, "reachable"), "bytes");
    tsite_load_frames(s, rj_get(e, "stack"));
    char id[32];
    snprintf(id, sizeof id, "%lld", s->id);
    struct tsite *same = tmap_get(&l->by_key, s->key);
    if (same) {
      same->blocks += s->blocks;
      same->bytes += s->bytes;
      same->reach_blocks += s->reach_blocks;
      same->reach_bytes += s->reach_bytes;
      tmap_put_copy(&l->by_id, id, same);
      free(s->frames);
      free(s->key);
      free(s);
      continue;
    }
    tmap_put_copy(&l->by_id, id, s);
    add_site(l, s);
  }
}

/* top_sites of one root: snapshot entries name a site id, report entries
 * carry their stack (sites are then made from them, merged by key). */
static void load_refs(struct loader *l, struct troot *r, const struct rj *top)
{
  r->nsites = rj_len(top);
  r->sites = txmalloc((r->nsites ? r->nsites : 1) * sizeof *r->sites);
  for (size_t k = 0; k < r->nsites; k++) {
    const struct rj *e = rj_at(top, k);
    struct tref *ref = &r->sites[k];
    ref->blocks = count(e, "blocks");
    ref->bytes = count(e, "bytes");
    const struct rj *stack = rj_get(e, "stack");
    if (stack) {
      struct tsite tmp = {0};
      tsite_load_frames(&tmp, stack);
      struct tsite *s = tmap_get(&l->by_key, tmp.key);
      if (!s) {
        s = txmalloc(sizeof *s);
        *s = tmp;
        s->id = -1;
        add_site(l, s);
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
      ref->site = tmap_get(&l->by_id, id);   /* NULL: "other sites" */
    }
  }
}

/* The "reachable from several roots" bucket, as the last root. */
static void load_shared(struct loader *l, struct troot *r, const struct rj *shared)
{
  r->shared = true;
  r->kind = "shared";
  r->name = "reachable from several roots";
  r->key = txstrdup("shared");
  root_label(r);
  const struct rj *rt = rj_get(shared, "retained");
  r->blocks = count(rt ? rt : shared, "blocks");
  r->bytes = count(rt ? rt : shared, "bytes");
  load_refs(l, r, rj_get(shared, "top_sites"));
}

/* Step 4: the roots with their retained size and sites, and the shared
 * bucket (a snapshot's "shared", a report's "retention"."shared"). */
static void load_roots(struct loader *l)
{
  struct tmodel *m = l->m;
  const struct rj *ret = rj_get(m->doc, "retainers");
  const struct rj *shared = rj_get(m->doc, "shared");
  if (!shared) shared = rj_get(rj_get(m->doc, "retention"), "shared");
  m->nroots = rj_len(ret) + (shared ? 1 : 0);
  m->roots = txmalloc((m->nroots ? m->nroots : 1) * sizeof *m->roots);
  for (size_t i = 0; i < rj_len(ret); i++) {
    const struct rj *e = rj_at(ret, i);
    struct troot *r = &m->roots[i];
    load_root(r, rj_get(e, "root"));
    r->blocks = count(rj_get(e, "retained"), "blocks");
    r->bytes = count(rj_get(e, "retained"), "bytes");
    load_refs(l, r, rj_get(e, "top_sites"));
  }
  if (shared) load_shared(l, &m->roots[m->nroots - 1], shared);
}

/* Step 4b: a snapshot's top blocks (blocks[]), labelled with their site's
 * innermost frames and the roots that reach them. */
static void load_blocks(struct loader *l, const struct rj *blocks)
{
  struct tmodel *m = l->m;
  m->nblocks = rj_len(blocks);
  m->blocks = txmalloc((m->nblocks ? m->nblocks : 1) * sizeof *m->blocks);
  for (size_t i = 0; i < m->nblocks; i++) {
    const struct rj *e = rj_at(blocks, i);
    struct tblock *b = &m->blocks[i];
    const char *addr = rj_str(rj_get(e, "address"), "0");
    b->addr = strtoull(addr, NULL, 16);
    b->size = count(e, "size");
    b->blocks = count(rj_get(e, "retained"), "blocks");
    b->bytes = count(rj_get(e, "retained"), "bytes");
    char id[32];
    snprintf(id, sizeof id, "%lld", rj_int(rj_get(e, "site"), 0));
    b->site = tmap_get(&l->by_id, id);
    size_t n = strlen(addr) + (b->site ? strlen(b->site->key) : 0) + 4;
    b->key = txmalloc(n);
    snprintf(b->key, n, "%s|%s", addr, b->site ? b->site->key : "");
    char roots[512] = "", site[512];
    const struct rj *rs = rj_get(e, "roots");
    for (size_t k = 0; k < rj_len(rs); k++) {
      size_t at = strlen(roots);
      snprintf(roots + at, sizeof roots - at, "%s%s", k ? ", " : "", rj_str(rj_get(rj_at(rs, k), "name"), "?"));
    }
    long long total = rj_int(rj_get(e, "roots_total"), 0);
    if (total > (long long)rj_len(rs)) {
      size_t at = strlen(roots);
      snprintf(roots + at, sizeof roots - at, " and %lld more", total - (long long)rj_len(rs));
    }
    n = sizeof roots + sizeof site + 96;
    b->label = txmalloc(n);
    snprintf(b->label, n, "%llu B at %s from %s (reachable from %s)", b->size, addr,
             b->site ? tsite_label(b->site, site, sizeof site) : "?", roots[0] ? roots : "no root");
  }
}

static void loader_free(struct loader *l)
{
  for (size_t i = 0; i < l->by_id.cap; i++) free(l->by_id.keys[i]);
  tmap_free(&l->by_id);
  tmap_free(&l->by_key);
}

/* Step 5: sites and roots biggest first (the shared bucket last). */
static void sort_model(struct tmodel *m)
{
  if (m->nsites) qsort(m->sites, m->nsites, sizeof *m->sites, site_cmp);
  if (m->nroots) qsort(m->roots, m->nroots, sizeof *m->roots, root_cmp);
}

int tmodel_load(const char *path, struct tmodel *m)
{
  memset(m, 0, sizeof *m);
  m->path = path;
  if (read_document(path, m) || read_header(m)) return -1;
  struct loader l = {.m = m};
  load_sites(&l, rj_get(m->doc, "sites"));
  load_roots(&l);
  load_blocks(&l, rj_get(m->doc, "blocks"));
  loader_free(&l);
  sort_model(m);
  return 0;
}

void tmodel_free(struct tmodel *m)
{
  /* The tools exit right after: only the document is worth giving back. */
  rj_free(m->doc);
  m->doc = NULL;
}
