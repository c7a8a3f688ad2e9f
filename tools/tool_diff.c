/* `reachcheck diff OLD NEW [--json] [--top=N] [-o FILE]`: growth between two
 * heap snapshots (or JSON reports) by allocation site and by root, biggest
 * growth first. Sites match by their frames' module+offset, roots by kind,
 * name, module and thread, so two snapshots of one process always match and
 * two runs of one binary match despite address randomisation. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "tool_common.h"

/* ---- compute: the two models matched, by site and by root ---- */
struct dpair { unsigned long long ob, oB, nb, nB; long long db, dB; };   /* old/new blocks/Bytes */
struct dsite { struct tsite *site; struct dpair v; };
struct droot {
  struct troot *root;
  struct dpair v;
  struct dsite *sites;
  size_t nsites;
};

static void set_delta(struct dpair *p)
{
  p->db = (long long)p->nb - (long long)p->ob;
  p->dB = (long long)p->nB - (long long)p->oB;
}

static int dsite_cmp(const void *a, const void *b)
{
  const struct dsite *x = a, *y = b;
  if (x->v.dB != y->v.dB) return x->v.dB < y->v.dB ? 1 : -1;
  if (x->v.db != y->v.db) return x->v.db < y->v.db ? 1 : -1;
  if (!x->site || !y->site) return x->site ? -1 : y->site ? 1 : 0;
  return strcmp(x->site->key, y->site->key);
}

static int droot_cmp(const void *a, const void *b)
{
  const struct droot *x = a, *y = b;
  if (x->v.dB != y->v.dB) return x->v.dB < y->v.dB ? 1 : -1;
  if (x->v.db != y->v.db) return x->v.db < y->v.db ? 1 : -1;
  return strcmp(x->root->key, y->root->key);
}

/* Sites of two lists of (site, blocks, bytes), matched by key. */
static struct dsite *match_sites(struct tref *o, size_t no, struct tref *n, size_t nn, size_t *count)
{
  struct tmap map = {0};
  struct dsite *out = txmalloc((no + nn + 1) * sizeof *out);
  size_t k = 0;
  for (int side = 0; side < 2; side++) {
    struct tref *refs = side ? n : o;
    size_t nr = side ? nn : no;
    for (size_t i = 0; i < nr; i++) {
      char *key = refs[i].site ? refs[i].site->key : "(other sites)";
      struct dsite *d = tmap_get(&map, key);
      if (!d) {
        d = &out[k++];
        d->site = refs[i].site;
        tmap_put(&map, key, d);
      }
      if (side) d->v.nb += refs[i].blocks, d->v.nB += refs[i].bytes;
      else d->v.ob += refs[i].blocks, d->v.oB += refs[i].bytes;
    }
  }
  tmap_free(&map);
  size_t w = 0;
  for (size_t i = 0; i < k; i++) {
    set_delta(&out[i].v);
    if (out[i].v.db || out[i].v.dB) out[w++] = out[i];
  }
  qsort(out, w, sizeof *out, dsite_cmp);
  *count = w;
  return out;
}

static struct tref *all_sites(struct tmodel *m)
{
  struct tref *r = txmalloc((m->nsites + 1) * sizeof *r);
  for (size_t i = 0; i < m->nsites; i++) {
    r[i].site = m->sites[i];
    r[i].blocks = m->sites[i]->blocks;
    r[i].bytes = m->sites[i]->bytes;
  }
  return r;
}

static struct droot *match_roots(struct tmodel *o, struct tmodel *n, size_t *count)
{
  struct tmap map = {0};
  struct droot *out = txmalloc((o->nroots + n->nroots + 1) * sizeof *out);
  struct troot **olds = txmalloc((o->nroots + n->nroots + 1) * sizeof *olds);
  size_t k = 0;
  for (int side = 0; side < 2; side++) {
    struct tmodel *m = side ? n : o;
    for (size_t i = 0; i < m->nroots; i++) {
      struct troot *r = &m->roots[i];
      struct droot *d = tmap_get(&map, r->key);
      if (!d) {
        d = &out[k];
        olds[k++] = NULL;
        d->root = r;
        tmap_put(&map, r->key, d);
      }
      if (side) {
        d->root = r;
        d->v.nb = r->blocks;
        d->v.nB = r->bytes;
      } else {
        olds[d - out] = r;
        d->v.ob = r->blocks;
        d->v.oB = r->bytes;
      }
    }
  }
  tmap_free(&map);
  size_t w = 0;
  for (size_t i = 0; i < k; i++) {
    set_delta(&out[i].v);
    if (!out[i].v.db && !out[i].v.dB) continue;
    struct troot *ol = olds[i], *nw = out[i].root == olds[i] ? NULL : out[i].root;
    out[i].sites = match_sites(ol ? ol->sites : NULL, ol ? ol->nsites : 0, nw ? nw->sites : NULL, nw ? nw->nsites : 0,
                               &out[i].nsites);
    out[w++] = out[i];
  }
  free(olds);
  qsort(out, w, sizeof *out, droot_cmp);
  *count = w;
  return out;
}

/* Top blocks (snapshots' blocks[]) by address and site. */
struct dblock { struct tblock *block; struct dpair v; };

static int dblock_cmp(const void *a, const void *b)
{
  const struct dblock *x = a, *y = b;
  if (x->v.dB != y->v.dB) return x->v.dB < y->v.dB ? 1 : -1;
  return strcmp(x->block->key, y->block->key);
}

static struct dblock *match_blocks(struct tmodel *o, struct tmodel *n, size_t *count)
{
  struct tmap map = {0};
  struct dblock *out = txmalloc((o->nblocks + n->nblocks + 1) * sizeof *out);
  size_t k = 0;
  for (int side = 0; side < 2; side++) {
    struct tmodel *m = side ? n : o;
    for (size_t i = 0; i < m->nblocks; i++) {
      struct tblock *b = &m->blocks[i];
      struct dblock *d = tmap_get(&map, b->key);
      if (!d) {
        d = &out[k++];
        d->block = b;
        tmap_put(&map, b->key, d);
      }
      if (side) {
        d->block = b;
        d->v.nb = b->blocks;
        d->v.nB = b->bytes;
      } else {
        d->v.ob = b->blocks;
        d->v.oB = b->bytes;
      }
    }
  }
  tmap_free(&map);
  size_t w = 0;
  for (size_t i = 0; i < k; i++) {
    set_delta(&out[i].v);
    if (out[i].v.db || out[i].v.dB) out[w++] = out[i];
  }
  qsort(out, w, sizeof *out, dblock_cmp);
  *count = w;
  return out;
}

/* The difference, as the writers show it. */
/* Over time: peak, calls and temporaries of both (docs/over-time.md). */
struct tpair { long long o, n; };
struct dtsite { struct tsite site; struct tpair temps, peak, calls; };
struct dtime {
  bool have;                           /* both files carry "peak" and "allocations" */
  struct tpair peak, peak_blocks, calls, temps;
  struct dtsite *sites;                /* by |change in temporaries| + |change at the peak| */
  size_t nsites;
};

struct diff {
  const struct tmodel *o, *n;
  struct dpair total;                  /* live (snapshot) or reachable (report) */
  struct dsite *sites;                 /* changed sites, biggest growth first */
  size_t nsites, show_sites;
  struct droot *roots;                 /* changed roots, biggest growth first */
  size_t nroots, show_roots;
  struct dblock *blocks;               /* changed top blocks (snapshots), biggest growth first */
  size_t nblocks, show_blocks;
  struct dtime time;
  size_t show_time;
};

/* ---- over time: peak, calls and temporaries (docs/over-time.md) ---- */

static long long tnum(const struct rj *obj, const char *a, const char *b)
{
  const struct rj *v = rj_get(obj, a);
  return v && b ? rj_int(rj_get(v, b), 0) : rj_int(v, 0);
}

static long long tchange(const struct dtsite *s) { return llabs(s->temps.n - s->temps.o) + llabs(s->peak.n - s->peak.o); }
static int dtsite_cmp(const void *a, const void *b)
{
  long long x = tchange(a), y = tchange(b);
  return x < y ? 1 : x > y ? -1 : strcmp(((const struct dtsite *)a)->site.key, ((const struct dtsite *)b)->site.key);
}

static void compute_time(struct dtime *t, const struct tmodel *o, const struct tmodel *n)
{
  memset(t, 0, sizeof *t);
  const struct rj *doc[2] = {o->doc, n->doc};
  if (!rj_get(doc[0], "peak") || !rj_get(doc[1], "peak")) return;
  t->have = true;
  t->peak = (struct tpair){tnum(doc[0], "peak", "bytes"), tnum(doc[1], "peak", "bytes")};
  t->peak_blocks = (struct tpair){tnum(doc[0], "peak", "blocks"), tnum(doc[1], "peak", "blocks")};
  t->calls = (struct tpair){tnum(doc[0], "allocations", "calls"), tnum(doc[1], "allocations", "calls")};
  t->temps = (struct tpair){tnum(doc[0], "allocations", "temporary"), tnum(doc[1], "allocations", "temporary")};
  size_t cap = rj_len(rj_get(doc[0], "alloc_sites")) + rj_len(rj_get(doc[1], "alloc_sites")) + 1;
  t->sites = txmalloc(cap * sizeof *t->sites);
  struct tmap map = {0};
  for (int side = 0; side < 2; side++) {
    const struct rj *arr = rj_get(doc[side], "alloc_sites");
    for (size_t i = 0; i < rj_len(arr); i++) {
      const struct rj *e = rj_at(arr, i);
      struct tsite site = {0};
      tsite_load_frames(&site, rj_get(e, "stack"));
      struct dtsite *d = tmap_get(&map, site.key);
      if (!d) {
        d = &t->sites[t->nsites++];
        memset(d, 0, sizeof *d);
        d->site = site;
        tmap_put(&map, site.key, d);
      }
      long long *v[3] = {side ? &d->temps.n : &d->temps.o, side ? &d->peak.n : &d->peak.o, side ? &d->calls.n : &d->calls.o};
      *v[0] = tnum(e, "temporary", NULL);
      *v[1] = tnum(e, "peak_bytes", NULL);
      *v[2] = tnum(e, "calls", NULL);
    }
  }
  qsort(t->sites, t->nsites, sizeof *t->sites, dtsite_cmp);
}

static void text_tpair(FILE *f, const char *what, struct tpair p, const char *unit)
{
  fprintf(f, "%s %lld -> %lld%s (%+lld)", what, p.o, p.n, unit, p.n - p.o);
}

static void text_time(FILE *f, const struct dtime *t, size_t show)
{
  if (!t->have) return;
  fprintf(f, "\nOver time (since each process started):\n  ");
  text_tpair(f, "peak", t->peak, " bytes");
  text_tpair(f, ",", t->peak_blocks, " blocks");
  fprintf(f, "\n  ");
  text_tpair(f, "allocation calls", t->calls, "");
  text_tpair(f, "; temporary allocations", t->temps, "");
  fputc('\n', f);
  for (size_t i = 0; i < t->nsites && i < show; i++) {
    const struct dtsite *s = &t->sites[i];
    if (!tchange(s)) break;
    char label[512];
    fprintf(f, "  %s: ", tsite_label((struct tsite *)&s->site, label, sizeof label));
    text_tpair(f, "temporary", s->temps, "");
    text_tpair(f, ", at the peak", s->peak, " bytes");
    fputc('\n', f);
  }
}

static void json_tpair(FILE *f, const char *name, struct tpair p)
{
  fprintf(f, "\"%s\":{\"old\":%lld,\"new\":%lld,\"delta\":%lld}", name, p.o, p.n, p.n - p.o);
}

static void json_time(FILE *f, const struct dtime *t, size_t show)
{
  if (!t->have) return;
  fputs(",\"over_time\":{", f);
  json_tpair(f, "peak_bytes", t->peak);
  fputc(',', f);
  json_tpair(f, "peak_blocks", t->peak_blocks);
  fputc(',', f);
  json_tpair(f, "calls", t->calls);
  fputc(',', f);
  json_tpair(f, "temporary", t->temps);
  fputs(",\"sites\":[", f);
  for (size_t i = 0; i < t->nsites && i < show; i++) {
    const struct dtsite *s = &t->sites[i];
    fputs(i ? ",{" : "{", f);
    json_tpair(f, "temporary", s->temps);
    fputc(',', f);
    json_tpair(f, "peak_bytes", s->peak);
    fputc(',', f);
    json_tpair(f, "calls", s->calls);
    fputs(",\"stack\":", f);
    tjson_frames(f, (struct tsite *)&s->site);
    fputc('}', f);
  }
  fputs("]}", f);
}

/* top: entries shown per list, 0 for all. */
static void compute(struct diff *d, struct tmodel *o, struct tmodel *n, long top)
{
  memset(d, 0, sizeof *d);
  d->o = o;
  d->n = n;
  d->total = (struct dpair){o->live_blocks, o->live_bytes, n->live_blocks, n->live_bytes, 0, 0};
  set_delta(&d->total);
  struct tref *os = all_sites(o), *ns = all_sites(n);
  d->sites = match_sites(os, o->nsites, ns, n->nsites, &d->nsites);
  d->roots = match_roots(o, n, &d->nroots);
  d->show_sites = top && (size_t)top < d->nsites ? (size_t)top : d->nsites;
  d->show_roots = top && (size_t)top < d->nroots ? (size_t)top : d->nroots;
  d->blocks = match_blocks(o, n, &d->nblocks);
  d->show_blocks = top && (size_t)top < d->nblocks ? (size_t)top : d->nblocks;
  compute_time(&d->time, o, n);
  d->show_time = top && (size_t)top < d->time.nsites ? (size_t)top : d->time.nsites;
}

/* ---- text ---- */
static void text_pair(FILE *f, const struct dpair *v)
{
  fprintf(f, "%+lld bytes, %+lld blocks (%llu -> %llu blocks, %llu -> %llu bytes)", v->dB, v->db, v->ob, v->nb, v->oB,
          v->nB);
}

static void describe_model(FILE *f, const char *tag, const struct tmodel *m)
{
  if (m->snapshot)
    fprintf(f, "  %s %s: snapshot %lld of pid %lld, %llu live blocks (%llu bytes)\n", tag, m->path, m->seq, m->pid,
            m->live_blocks, m->live_bytes);
  else
    fprintf(f, "  %s %s: exit report of pid %lld, %llu reachable blocks (%llu bytes)\n", tag, m->path, m->pid,
            m->live_blocks, m->live_bytes);
}

static void text_sites(FILE *f, const struct diff *d)
{
  fprintf(f, "\nGrowth by allocation site (%s; biggest growth first):\n",
          d->o->snapshot ? "live blocks" : "retained by the top roots");
  if (!d->nsites) fprintf(f, "  no change\n");
  for (size_t i = 0; i < d->show_sites; i++) {
    fprintf(f, "  #%zu ", i + 1);
    text_pair(f, &d->sites[i].v);
    fprintf(f, ", allocated from:\n");
    struct tsite *s = d->sites[i].site;
    for (size_t k = 0; s && k < s->nframes && k < 6; k++) {
      struct tframe *fr = &s->frames[k];
      tframe_symbolize(fr);
      fprintf(f, "       #%zu %s", k, fr->function && fr->function[0] ? fr->function : "??");
      if (fr->file) fprintf(f, " %s:%d", fr->file, fr->line);
      fprintf(f, " (%s+0x%llx)\n", tbase(fr->module), fr->offset);
    }
    if (s && s->nframes > 6) fprintf(f, "       ... (%zu more frames)\n", s->nframes - 6);
  }
  if (d->nsites > d->show_sites)
    fprintf(f, "  (%zu more changed sites; --top=0 shows all)\n", d->nsites - d->show_sites);
}

static void text_roots(FILE *f, const struct diff *d)
{
  fprintf(f, "\nGrowth by root (retained size; biggest growth first):\n");
  if (!d->nroots) fprintf(f, "  no change\n");
  for (size_t i = 0; i < d->show_roots; i++) {
    const struct droot *r = &d->roots[i];
    fprintf(f, "  #%zu %s: ", i + 1, r->root->label);
    text_pair(f, &r->v);
    fputc('\n', f);
    for (size_t k = 0; k < r->nsites && k < 3; k++) {
      char label[512];
      fprintf(f, "       %+lld bytes, %+lld blocks from %s\n", r->sites[k].v.dB, r->sites[k].v.db,
              tsite_label(r->sites[k].site, label, sizeof label));
    }
  }
  if (d->nroots > d->show_roots)
    fprintf(f, "  (%zu more changed roots; --top=0 shows all)\n", d->nroots - d->show_roots);
}

static void text_blocks(FILE *f, const struct diff *d)
{
  if (!d->o->nblocks && !d->n->nblocks) return;   /* reports and older snapshots have no blocks[] */
  fprintf(f, "\nGrowth by block retained by no single root (dominator tree; biggest growth first):\n");
  if (!d->nblocks) fprintf(f, "  no change\n");
  for (size_t i = 0; i < d->show_blocks; i++) {
    fprintf(f, "  #%zu block %s: ", i + 1, d->blocks[i].block->label);
    text_pair(f, &d->blocks[i].v);
    fputc('\n', f);
  }
  if (d->nblocks > d->show_blocks)
    fprintf(f, "  (%zu more changed blocks; --top=0 shows all)\n", d->nblocks - d->show_blocks);
}

static void write_text(FILE *f, const struct diff *d)
{
  fprintf(f, "reachcheck diff:\n");
  describe_model(f, "old", d->o);
  describe_model(f, "new", d->n);
  fprintf(f, "  change: %+lld blocks, %+lld bytes\n", d->total.db, d->total.dB);
  text_sites(f, d);
  text_roots(f, d);
  text_blocks(f, d);
  text_time(f, &d->time, d->show_time);
}

/* ---- JSON ---- */
static void json_pair(FILE *f, const struct dpair *v)
{
  fprintf(f, "\"old\":{\"blocks\":%llu,\"bytes\":%llu},\"new\":{\"blocks\":%llu,\"bytes\":%llu},"
             "\"delta\":{\"blocks\":%lld,\"bytes\":%lld}",
          v->ob, v->oB, v->nb, v->nB, v->db, v->dB);
}

static void json_model(FILE *f, const struct tmodel *m)
{
  fputs("{\"path\":", f);
  tjson_str(f, m->path);
  fprintf(f, ",\"format\":\"%s\",\"pid\":%lld,\"seq\":%lld,\"live\":{\"blocks\":%llu,\"bytes\":%llu}}",
          m->snapshot ? "snapshot" : "report", m->pid, m->seq, m->live_blocks, m->live_bytes);
}

static void json_root(FILE *f, const struct droot *r)
{
  fputs("{\"root\":", f);
  if (r->root->shared) fputs("{\"kind\":\"shared\",\"name\":\"reachable from several roots\",\"module\":null,\"thread\":null}", f);
  else tjson_root(f, r->root);
  fputc(',', f);
  json_pair(f, &r->v);
  fputs(",\"sites\":[", f);
  for (size_t k = 0; k < r->nsites && k < 5; k++) {
    char label[512];
    fputs(k ? ",{" : "{", f);
    json_pair(f, &r->sites[k].v);
    fputs(",\"site\":", f);
    tjson_str(f, tsite_label(r->sites[k].site, label, sizeof label));
    fputs(",\"stack\":", f);
    tjson_frames(f, r->sites[k].site);
    fputc('}', f);
  }
  fputs("]}", f);
}

static void write_json(FILE *f, const struct diff *d)
{
  fputs("{\"tool\":\"reachcheck\",\"format\":\"diff\",\"old\":", f);
  json_model(f, d->o);
  fputs(",\"new\":", f);
  json_model(f, d->n);
  fprintf(f, ",\"delta\":{\"blocks\":%lld,\"bytes\":%lld},\"sites\":[", d->total.db, d->total.dB);
  for (size_t i = 0; i < d->show_sites; i++) {
    fputs(i ? ",{" : "{", f);
    json_pair(f, &d->sites[i].v);
    fputs(",\"stack\":", f);
    tjson_frames(f, d->sites[i].site);
    fputc('}', f);
  }
  fputs("],\"roots\":[", f);
  for (size_t i = 0; i < d->show_roots; i++) {
    if (i) fputc(',', f);
    json_root(f, &d->roots[i]);
  }
  fputs("],\"blocks\":[", f);
  for (size_t i = 0; i < d->show_blocks; i++) {
    const struct tblock *b = d->blocks[i].block;
    fprintf(f, "%s{\"address\":\"0x%llx\",\"size\":%llu,\"label\":", i ? "," : "", b->addr, b->size);
    tjson_str(f, b->label);
    fputc(',', f);
    json_pair(f, &d->blocks[i].v);
    fputs(",\"stack\":", f);
    if (b->site) tjson_frames(f, b->site);
    else fputs("[]", f);
    fputc('}', f);
  }
  fputc(']', f);
  json_time(f, &d->time, d->show_time);
  fputs("}\n", f);
}

/* ---- options ---- */
static int usage(FILE *f, int rc)
{
  fprintf(f, "usage: reachcheck diff OLD NEW [--json] [--top=N] [-o FILE]\n"
             "Growth between two heap snapshots (reachcheck_snapshot, snapshot_signal=) or\n"
             "JSON reports, by allocation site and by root (retained size), biggest first.\n"
             "  --json     JSON instead of text (all changed entries unless --top is given)\n"
             "  --top=N    entries per list (text default 10; 0: all)\n"
             "  -o FILE    write to FILE instead of stdout\n");
  return rc;
}

struct options {
  const char *files[2];    /* OLD, NEW */
  const char *out_path;    /* NULL: stdout */
  bool json;
  long top;                /* -1: the default */
};

enum { GO_ON = -1 };

/* GO_ON, or the exit status (--help, or one line naming the problem). */
static int parse_options(int argc, char **argv, struct options *o)
{
  *o = (struct options){.top = -1};
  int nf = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
    if (!strcmp(a, "--json")) o->json = true;
    else if (!strncmp(a, "--top=", 6)) {
      char *end;
      o->top = strtol(a + 6, &end, 10);
      if (*end || o->top < 0 || !a[6]) {
        fprintf(stderr, "reachcheck diff: bad value in '%s' (want --top=N, N >= 0)\n", a);
        return 2;
      }
    } else if (!strcmp(a, "-o") && i + 1 < argc) o->out_path = argv[++i];
    else if (!strncmp(a, "--output=", 9)) o->out_path = a + 9;
    else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "reachcheck diff: unknown option '%s' (see reachcheck diff --help)\n", a);
      return 2;
    } else if (nf < 2) o->files[nf++] = a;
    else {
      fprintf(stderr, "reachcheck diff: too many files ('%s'): want OLD NEW\n", a);
      return 2;
    }
  }
  return nf == 2 ? GO_ON : usage(stderr, 2);
}

int rc_tool_diff(int argc, char **argv)
{
  struct options opt;
  int rc = parse_options(argc, argv, &opt);
  if (rc != GO_ON) return rc;
  struct tmodel o, n;
  if (tmodel_load(opt.files[0], &o) || tmodel_load(opt.files[1], &n)) return 2;
  struct diff d;
  compute(&d, &o, &n, opt.top >= 0 ? opt.top : opt.json ? 0 : 10);
  struct tout out;
  if (tout_open(&out, "diff", opt.out_path)) return 2;
  if (opt.json) write_json(out.f, &d);
  else write_text(out.f, &d);
  return tout_close(&out) ? 2 : 0;
}
