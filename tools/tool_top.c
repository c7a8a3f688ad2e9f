/* `reachcheck top FILE|URL` and `reachcheck list REGEX FILE|URL`: pprof's
 * `top` table (flat, flat%, sum%, cum, cum%, function) and its source
 * listing annotated with flat and cum, for the profiles reachcheck writes,
 * without Go. The same rules as go tool pprof at function granularity:
 * a node is a (function, file, inlined or not); flat goes to the leaf frame's innermost
 * line; cum counts each node once per sample; with --base the old
 * profile's samples are subtracted (merged by stack and labels) and the
 * total is the sum of the merged samples' absolute values. */
#define _GNU_SOURCE
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pprof_read.h"
#include "tool_common.h"

struct node { char *name, *file; long long flat, cum; };
struct msample { char *key; long long v; struct pr_sample *s; const struct pr_profile *p; };

struct opts { const char *src, *base, *index, *regex; long nodecount; double nodefraction; };

static int parse_args(int argc, char **argv, struct opts *o, bool list)
{
  memset(o, 0, sizeof *o);
  o->nodecount = -1;
  o->nodefraction = 0.005;   /* pprof's default */
  int pos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strncmp(a, "--base=", 7)) o->base = a + 7;
    else if (!strncmp(a, "--sample_index=", 15)) o->index = a + 15;
    else if (!strncmp(a, "--nodecount=", 12) && !list) {
      char *end;
      errno = 0;
      o->nodecount = strtol(a + 12, &end, 10);
      if (*end || errno || o->nodecount < 1 || !a[12]) {
        fprintf(stderr, "reachcheck %s: bad --nodecount '%s' (want a positive number)\n", argv[0], a + 12);
        return -1;
      }
    } else if (!strncmp(a, "--nodefraction=", 15) && !list) {
      char *end;
      errno = 0;
      o->nodefraction = strtod(a + 15, &end);
      if (*end || errno || o->nodefraction < 0 || o->nodefraction > 1 || !a[15]) {
        fprintf(stderr, "reachcheck %s: bad --nodefraction '%s' (want 0 to 1)\n", argv[0], a + 15);
        return -1;
      }
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "reachcheck %s: unknown flag '%s'\n", argv[0], a);
      return -1;
    } else if (list && pos == 0) o->regex = a, pos++;
    else if (pos == (list ? 1 : 0)) o->src = a, pos++;
    else {
      fprintf(stderr, "reachcheck %s: unexpected argument '%s'\n", argv[0], a);
      return -1;
    }
  }
  if (!o->src) {
    fprintf(stderr, list ? "usage: reachcheck list REGEX FILE|URL [--base=OLD] [--sample_index=NAME]\n"
                         : "usage: reachcheck top FILE|URL [--base=OLD] [--sample_index=NAME] [--nodecount=N] [--nodefraction=F]\n");
    return -1;
  }
  return 0;
}

/* The sample key pprof merges on: every frame's lines and the labels. */
static char *sample_key(const struct pr_profile *p, const struct pr_sample *s)
{
  size_t cap = 256, n = 0;
  char *k = txmalloc(cap);
  k[0] = 0;
#define APPEND(...)                                                        \
  do {                                                                     \
    int w_;                                                                \
    while ((w_ = snprintf(k + n, cap - n, __VA_ARGS__)) >= 0 && (size_t)w_ >= cap - n) k = txrealloc(k, cap *= 2); \
    if (w_ > 0) n += (size_t)w_;                                           \
  } while (0)
  for (size_t i = 0; i < s->nlocs; i++) {
    const struct pr_location *l = pr_loc(p, s->locs[i]);
    if (!l) continue;
    for (size_t j = 0; j < l->nlines; j++) {
      const struct pr_function *f = pr_func(p, l->lines[j].function);
      APPEND("%s|%s|%lld;", f ? pr_str(p, f->name) : "?", f ? pr_str(p, f->filename) : "", (long long)l->lines[j].line);
    }
    APPEND("/");
  }
  for (size_t i = 0; i < s->nlabels; i++)
    APPEND("#%s=%s:%lld", pr_str(p, s->labels[i].key), pr_str(p, s->labels[i].str), (long long)s->labels[i].num);
  return k;
}

struct acc {
  struct tmap merged;             /* key -> struct msample */
  struct msample **ms;
  size_t nms;
};

static void add_samples(struct acc *a, const struct pr_profile *p, int vi, int sign)
{
  for (size_t i = 0; i < p->nsamples; i++) {
    struct pr_sample *s = &p->samples[i];
    char *k = sample_key(p, s);
    struct msample *m = tmap_get(&a->merged, k);
    if (!m) {
      m = txmalloc(sizeof *m);
      m->key = k;
      m->v = 0;
      m->s = s;
      m->p = p;
      tmap_put(&a->merged, k, m);
      a->ms = txrealloc(a->ms, sizeof *a->ms * (a->nms + 1));
      a->ms[a->nms++] = m;
    } else {
      free(k);
    }
    m->v += sign * s->values[vi];
  }
}

static const char *unit_of(const struct pr_profile *p, int vi) { return pr_str(p, p->types[vi].unit); }

static void fmt_value(char *out, size_t n, long long v, const char *unit)
{
  if (!v) snprintf(out, n, "0");
  else if (!strcmp(unit, "bytes")) snprintf(out, n, "%lldB", v);
  else snprintf(out, n, "%lld", v);
}

static int load_all(const struct opts *o, struct pr_profile *cur, struct pr_profile *base, int *vi, int *bvi, const char *tool)
{
  char err[512];
  if (pr_load(o->src, cur, err, sizeof err)) {
    fprintf(stderr, "reachcheck %s: %s\n", tool, err);
    return -1;
  }
  *vi = pr_type_index(cur, o->index);
  if (*vi < 0) {
    fprintf(stderr, "reachcheck %s: no sample type '%s' in %s (it has:", tool, o->index, o->src);
    for (size_t i = 0; i < cur->ntypes; i++) fprintf(stderr, " %s", pr_str(cur, cur->types[i].type));
    fprintf(stderr, ")\n");
    pr_free(cur);
    return -1;
  }
  if (o->base) {
    if (pr_load(o->base, base, err, sizeof err)) {
      fprintf(stderr, "reachcheck %s: %s\n", tool, err);
      pr_free(cur);
      return -1;
    }
    *bvi = pr_type_index(base, pr_str(cur, cur->types[*vi].type));
    if (*bvi < 0) {
      fprintf(stderr, "reachcheck %s: the base profile %s has no sample type '%s'\n", tool, o->base,
              pr_str(cur, cur->types[*vi].type));
      pr_free(cur);
      pr_free(base);
      return -1;
    }
  }
  return 0;
}

/* pprof's percentage column: "  100%" near 100, 2 decimals from 1%, else 2
 * significant digits. */
static const char *pct(char *buf, size_t n, long long v, long long total)
{
  double r = total ? 100.0 * (double)v / (double)total : 0.0;
  if (r >= 99.95 && r <= 100.05) snprintf(buf, n, "  100%%");
  else if (r >= 1.0 || r <= -1.0) snprintf(buf, n, "%5.2f%%", r);
  else snprintf(buf, n, "%5.2g%%", r);
  return buf;
}

static int by_flat(const void *a, const void *b)
{
  const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
  long long fx = llabs(x->flat), fy = llabs(y->flat);
  if (fx != fy) return fx > fy ? -1 : 1;
  int c = strcmp(x->name, y->name);
  if (c) return c;
  long long cx = llabs(x->cum), cy = llabs(y->cum);
  if (cx != cy) return cx > cy ? -1 : 1;
  return strcmp(x->file, y->file);
}

static void print_header(const struct pr_profile *p, int vi, const char *src)
{
  for (size_t i = 0; i < p->ncomments; i++) printf("%s\n", pr_str(p, p->comments[i]));
  printf("Source: %s\nType: %s\n", src, pr_str(p, p->types[vi].type));
}

/* The profile (and --base, subtracted) as merged samples of the chosen
 * sample type: what top and list both start from. */
static int load_acc(const struct opts *o, struct pr_profile *cur, struct pr_profile *base, struct acc *a, int *vi,
                    const char *tool)
{
  int bvi = 0;
  if (load_all(o, cur, base, vi, &bvi, tool)) return -1;
  memset(a, 0, sizeof *a);
  add_samples(a, cur, *vi, 1);
  if (o->base) add_samples(a, base, bvi, -1);
  return 0;
}

int rc_tool_top(int argc, char **argv)
{
  struct opts o;
  if (parse_args(argc, argv, &o, false)) return 2;
  struct pr_profile cur, base;
  struct acc a;
  int vi;
  if (load_acc(&o, &cur, &base, &a, &vi, "top")) return 1;
  struct tmap nodes;
  memset(&nodes, 0, sizeof nodes);
  struct node **list = NULL;
  size_t nn = 0;
  long long total = 0;
  for (size_t i = 0; i < a.nms; i++) {
    struct msample *m = a.ms[i];
    if (!m->v) continue;
    total += llabs(m->v);
    const struct pr_profile *p = m->p;
    const struct pr_sample *s = m->s;
    struct tmap seen;
    memset(&seen, 0, sizeof seen);
    bool leaf = true;
    for (size_t li = 0; li < s->nlocs; li++) {
      const struct pr_location *l = pr_loc(p, s->locs[li]);
      for (size_t j = 0; l && j < l->nlines; j++) {
        const struct pr_function *f = pr_func(p, l->lines[j].function);
        const char *name = f ? pr_str(p, f->name) : "?", *file = f ? pr_str(p, f->filename) : "";
        /* a line other than a location's last is a frame inlined into the
         * next: pprof keeps it as its own node, named "f (inline)" */
        bool inl = j + 1 < l->nlines;
        char *key;
        if (asprintf(&key, "%s\x1f%s\x1f%d", name, file, inl) < 0) abort();
        struct node *nd = tmap_get(&nodes, key);
        if (!nd) {
          nd = txmalloc(sizeof *nd);
          memset(nd, 0, sizeof *nd);
          if (inl && asprintf(&nd->name, "%s (inline)", name) < 0) abort();
          if (!inl) nd->name = txstrdup(name);
          nd->file = txstrdup(file);
          tmap_put_copy(&nodes, key, nd);
          list = txrealloc(list, sizeof *list * (nn + 1));
          list[nn++] = nd;
        }
        if (leaf) nd->flat += m->v, leaf = false;
        if (!tmap_get(&seen, key)) {
          nd->cum += m->v;
          tmap_put_copy(&seen, key, nd);
        }
        free(key);
      }
    }
    tmap_free(&seen);
  }
  /* nodes whose cum is at most nodefraction of the total are dropped */
  long long cut = (long long)((double)total * o.nodefraction);
  size_t kept = 0, dropped = 0;
  for (size_t i = 0; i < nn; i++) {
    /* samples that cancel (a block that moved to another root between a
     * --base and its profile) leave nodes at 0 flat and 0 cum: pprof does
     * not show them */
    if (!list[i]->flat && !list[i]->cum) continue;
    if (o.nodefraction > 0 && llabs(list[i]->cum) <= cut) dropped++;
    else list[kept++] = list[i];
  }
  nn = kept;
  if (nn) qsort(list, nn, sizeof *list, by_flat);
  const char *unit = unit_of(&cur, vi);
  print_header(&cur, vi, o.src);
  size_t show = o.nodecount > 0 && (size_t)o.nodecount < nn ? (size_t)o.nodecount : nn;
  long long shown = 0;
  for (size_t i = 0; i < show; i++) shown += list[i]->flat;
  char v1[64], v2[64];
  fmt_value(v1, sizeof v1, shown, unit);
  fmt_value(v2, sizeof v2, total, unit);
  printf("Showing nodes accounting for %s, %.2f%% of %s total\n", v1, total ? 100.0 * (double)shown / (double)total : 0.0, v2);
  if (dropped) {
    fmt_value(v1, sizeof v1, cut, unit);
    printf("Dropped %zu node%s (cum <= %s)\n", dropped, dropped == 1 ? "" : "s", v1);
  }
  if (show < nn) printf("Showing top %zu nodes out of %zu\n", show, nn);
  printf("      flat  flat%%   sum%%        cum   cum%%\n");
  long long sum = 0;
  for (size_t i = 0; i < show; i++) {
    char p1[32], p2[32], p3[32];
    sum += list[i]->flat;
    fmt_value(v1, sizeof v1, list[i]->flat, unit);
    fmt_value(v2, sizeof v2, list[i]->cum, unit);
    printf("%10s %s %s %10s %s  %s\n", v1, pct(p1, sizeof p1, list[i]->flat, total), pct(p2, sizeof p2, sum, total), v2,
           pct(p3, sizeof p3, list[i]->cum, total), list[i]->name);
  }
  return 0;
}

/* ---- list ---- */
struct lval { long long line, flat, cum; };
struct lfunc { char *name, *file; struct lval *v; size_t nv; long long flat, cum; };

static struct lval *lval_of(struct lfunc *f, long long line)
{
  for (size_t i = 0; i < f->nv; i++)
    if (f->v[i].line == line) return &f->v[i];
  f->v = txrealloc(f->v, sizeof *f->v * (f->nv + 1));
  f->v[f->nv] = (struct lval){line, 0, 0};
  return &f->v[f->nv++];
}

static int by_line(const void *a, const void *b)
{
  const struct lval *x = a, *y = b;
  return x->line < y->line ? -1 : x->line > y->line;
}

static int by_name(const void *a, const void *b)
{
  const struct lfunc *x = *(const struct lfunc *const *)a, *y = *(const struct lfunc *const *)b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->file, y->file);
}

int rc_tool_list(int argc, char **argv)
{
  struct opts o;
  if (parse_args(argc, argv, &o, true)) return 2;
  regex_t re;
  int rc = regcomp(&re, o.regex, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    char e[256];
    regerror(rc, &re, e, sizeof e);
    fprintf(stderr, "reachcheck list: bad regular expression '%s': %s\n", o.regex, e);
    return 2;
  }
  struct pr_profile cur, base;
  struct acc a;
  int vi;
  if (load_acc(&o, &cur, &base, &a, &vi, "list")) return 1;
  struct tmap funcs;
  memset(&funcs, 0, sizeof funcs);
  struct lfunc **fl = NULL;
  size_t nf = 0;
  long long total = 0;
  for (size_t i = 0; i < a.nms; i++) {
    struct msample *m = a.ms[i];
    if (!m->v) continue;
    total += llabs(m->v);
    const struct pr_profile *p = m->p;
    struct tmap seen, seenf;
    memset(&seen, 0, sizeof seen);
    memset(&seenf, 0, sizeof seenf);
    bool leaf = true;
    for (size_t li = 0; li < m->s->nlocs; li++) {
      const struct pr_location *l = pr_loc(p, m->s->locs[li]);
      for (size_t j = 0; l && j < l->nlines; j++) {
        const struct pr_function *f = pr_func(p, l->lines[j].function);
        const char *name = f ? pr_str(p, f->name) : "?", *file = f ? pr_str(p, f->filename) : "";
        bool is_leaf = leaf;
        leaf = false;
        /* as pprof: a function without a source file is not listed */
        if (!file[0] || regexec(&re, name, 0, NULL, 0)) continue;
        char *key, *lkey;
        if (asprintf(&key, "%s\x1f%s", name, file) < 0 ||
            asprintf(&lkey, "%s\x1f%lld", key, (long long)l->lines[j].line) < 0)
          abort();
        struct lfunc *lf = tmap_get(&funcs, key);
        if (!lf) {
          lf = txmalloc(sizeof *lf);
          memset(lf, 0, sizeof *lf);
          lf->name = txstrdup(name);
          lf->file = txstrdup(file);
          tmap_put_copy(&funcs, key, lf);
          fl = txrealloc(fl, sizeof *fl * (nf + 1));
          fl[nf++] = lf;
        }
        struct lval *lv = lval_of(lf, l->lines[j].line);
        if (is_leaf) lv->flat += m->v, lf->flat += m->v;
        if (!tmap_get(&seen, lkey)) {
          lv->cum += m->v;
          tmap_put_copy(&seen, lkey, lf);
        }
        if (!tmap_get(&seenf, key)) {
          lf->cum += m->v;
          tmap_put_copy(&seenf, key, lf);
        }
        free(key);
        free(lkey);
      }
    }
    tmap_free(&seen);
    tmap_free(&seenf);
  }
  if (!nf) {
    fprintf(stderr, "reachcheck list: no function matches '%s' in %s\n", o.regex, o.src);
    return 1;
  }
  qsort(fl, nf, sizeof *fl, by_name);
  const char *unit = unit_of(&cur, vi);
  char v1[64], v2[64];
  fmt_value(v1, sizeof v1, total, unit);
  printf("Total: %s\n", v1);
  for (size_t i = 0; i < nf; i++) {
    struct lfunc *f = fl[i];
    qsort(f->v, f->nv, sizeof *f->v, by_line);
    printf("ROUTINE ======================== %s in %s\n", f->name, f->file[0] ? f->file : "(unknown file)");
    fmt_value(v1, sizeof v1, f->flat, unit);
    fmt_value(v2, sizeof v2, f->cum, unit);
    printf("%10s %10s (flat, cum) %.2f%% of Total\n", v1, v2, total ? 100.0 * (double)f->cum / (double)total : 0.0);
    FILE *src = f->file[0] ? fopen(f->file, "r") : NULL;
    if (!src) {
      printf("reachcheck list: cannot read the source file '%s' recorded in the profile (%s); lines with values only:\n",
             f->file, f->file[0] ? strerror(errno) : "no file name");
      for (size_t k = 0; k < f->nv; k++) {
        fmt_value(v1, sizeof v1, f->v[k].flat, unit);
        fmt_value(v2, sizeof v2, f->v[k].cum, unit);
        printf("%10s %10s %5lld: (source not available)\n", f->v[k].flat ? v1 : ".", f->v[k].cum ? v2 : ".", f->v[k].line);
      }
      continue;
    }
    long long lo = f->v[0].line - 5, hi = f->v[f->nv - 1].line + 5;
    if (lo < 1) lo = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    size_t k = 0;
    for (long long n = 1; (len = getline(&line, &cap, src)) >= 0 && n <= hi; n++) {
      if (n < lo) continue;
      while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
      while (k < f->nv && f->v[k].line < n) k++;
      long long fv = k < f->nv && f->v[k].line == n ? f->v[k].flat : 0, cv = k < f->nv && f->v[k].line == n ? f->v[k].cum : 0;
      fmt_value(v1, sizeof v1, fv, unit);
      fmt_value(v2, sizeof v2, cv, unit);
      printf("%10s %10s %5lld:%s\n", fv ? v1 : ".", cv ? v2 : ".", n, line);
    }
    free(line);
    fclose(src);
  }
  regfree(&re);
  return 0;
}
