/* `reachcheck graph SNAPSHOT_OR_REPORT (--dot | --html) [-o FILE]`: the
 * retention tree (super-root -> roots -> allocation sites, sized by retained
 * bytes) as Graphviz dot, or as one self-contained HTML page with a zoomable
 * squarified treemap and, when the input has one, the timeline of live
 * bytes by site with the peak and the growing roots (tools/assets/: inline
 * script and style, no external resources). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tool_common.h"

/* ---- the picture: roots and their sites, labelled ---- */
struct gsite { const char *label; unsigned long long blocks, bytes; struct tsite *site; };
struct groot { const struct troot *r; struct gsite *s; size_t ns; };

/* Sites labelled so far: labelling symbolizes a frame (libdw reads a
 * module's DWARF when first asked), so many sites take a while. */
struct progress { bool tty; size_t done, total; };

/* Sites of r drawn as their own cells: at most max_sites. */
static size_t sites_shown(const struct troot *r, size_t max_sites)
{
  size_t n = 0;
  for (size_t k = 0; k < r->nsites && n < max_sites; k++) n += r->sites[k].site != NULL;
  return n;
}

/* A root's sites, capped; the remainder (bytes retained by the root that
 * no listed site accounts for) becomes one "other sites" entry. */
static struct groot build(const struct troot *r, size_t max_sites, struct progress *pr)
{
  struct groot g = {r, txmalloc((sites_shown(r, max_sites) + 1) * sizeof *g.s), 0};
  unsigned long long sb = 0, sB = 0;
  for (size_t k = 0; k < r->nsites && g.ns < max_sites; k++) {
    if (!r->sites[k].site) continue;
    struct gsite *s = &g.s[g.ns++];
    char label[512];
    s->site = r->sites[k].site;
    s->label = txstrdup(tsite_label(s->site, label, sizeof label));
    s->blocks = r->sites[k].blocks;
    s->bytes = r->sites[k].bytes;
    sb += s->blocks;
    sB += s->bytes;
    if (!(++pr->done & 255)) rc_progress(pr->tty, "graph: symbolized sites", pr->done, pr->total);
  }
  if (r->bytes > sB) {
    struct gsite *s = &g.s[g.ns++];
    s->label = "other sites";
    s->blocks = r->blocks > sb ? r->blocks - sb : 0;
    s->bytes = r->bytes - sB;
    s->site = NULL;
  }
  return g;
}

/* The roots drawn, their sites labelled: the top N that retain something,
 * and the shared bucket even when the top N cut it. */
static struct groot *build_all(const struct tmodel *m, long top, size_t max_sites, size_t *count)
{
  size_t ng = top && (size_t)top < m->nroots ? (size_t)top : m->nroots;
  const struct troot *last = m->nroots ? &m->roots[m->nroots - 1] : NULL;
  bool add_shared = ng < m->nroots && last->shared && last->bytes;
  const struct troot **pick = txmalloc((ng + 1) * sizeof *pick);
  size_t k = 0;
  for (size_t i = 0; i < ng; i++)
    if (m->roots[i].bytes) pick[k++] = &m->roots[i];
  if (add_shared) pick[k++] = last;
  /* A site to label costs about what 4096 blocks cost a check (the measure
   * of rc_progress_tty): progress from about 256 sites on. */
  struct progress pr = {0};
  for (size_t i = 0; i < k; i++) pr.total += sites_shown(pick[i], max_sites);
  pr.tty = rc_progress_tty((uint64_t)pr.total << 12);
  struct groot *g = txmalloc((k + 1) * sizeof *g);
  for (size_t i = 0; i < k; i++) g[i] = build(pick[i], max_sites, &pr);
  rc_progress(pr.tty, "", 1, 1);
  free(pick);
  *count = k;
  return g;
}

/* ---- Graphviz ---- */
static void dot_str(FILE *f, const char *s)
{
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if (*s == '\n') {
      fputs("\\n", f);
      continue;
    }
    fputc(*s, f);
  }
}

static const char *kind_color(const struct troot *r)
{
  if (r->shared) return "#d9d4cf";
  if (!strcmp(r->kind, "global")) return "#a6c8e8";
  if (!strcmp(r->kind, "tls")) return "#f7c08a";
  if (!strcmp(r->kind, "stack")) return "#a7d49b";
  if (!strcmp(r->kind, "register")) return "#f2a3a5";
  return "#b5dcd8";
}

static void write_dot(FILE *f, const struct tmodel *m, struct groot *g, size_t ng)
{
  unsigned long long max = 1;
  for (size_t i = 0; i < ng; i++)
    if (g[i].r->bytes > max) max = g[i].r->bytes;
  fprintf(f, "digraph reachcheck {\n  graph [rankdir=LR, fontname=\"Helvetica\", labelloc=t, label=\"");
  dot_str(f, tbase(m->path));
  fprintf(f, ": retained bytes by root and allocation site\"];\n"
             "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
             "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#777777\"];\n"
             "  heap [shape=ellipse, fillcolor=\"#eeeeee\", label=\"all roots\\n%llu reachable bytes in %llu blocks\"];\n",
          m->reach_bytes, m->reach_blocks);
  for (size_t i = 0; i < ng; i++) {
    const struct troot *r = g[i].r;
    fprintf(f, "  r%zu [fillcolor=\"%s\", label=\"", i, kind_color(r));
    dot_str(f, r->label);
    fprintf(f, "\\nretains %llu bytes in %llu blocks\"];\n", r->bytes, r->blocks);
    fprintf(f, "  heap -> r%zu [label=\"%llu B\", penwidth=%.2f];\n", i, r->bytes, 1.0 + 5.0 * (double)r->bytes / (double)max);
    for (size_t k = 0; k < g[i].ns; k++) {
      fprintf(f, "  r%zus%zu [shape=note, fillcolor=\"#ffffff\", label=\"", i, k);
      dot_str(f, g[i].s[k].label);
      fprintf(f, "\\n%llu bytes in %llu blocks\"];\n", g[i].s[k].bytes, g[i].s[k].blocks);
      fprintf(f, "  r%zu -> r%zus%zu [label=\"%llu B\", penwidth=%.2f];\n", i, i, k, g[i].s[k].bytes,
              1.0 + 5.0 * (double)g[i].s[k].bytes / (double)max);
    }
  }
  fputs("}\n", f);
}

/* ---- HTML ---- */
/* The page: tools/assets/treemap.html with treemap.css and treemap.js inlined
 * at build time (tools/embed.cmake), NUL-terminated. */
extern const char rc_treemap_html[];

static void html_text(FILE *f, const char *s)
{
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else fputc(*s, f);
  }
}

/* ---- the timeline (timeline.js; docs/over-time.md) ---- */
static double rnum(const struct rj *v) { return v && v->type == RJ_NUM ? v->num : 0; }

/* Is a stack (a JSON array of frames) the site of an entry of the input's
 * "growth" array (another engineer's --watch)? Matched by module+offset. */
static bool site_growing(const struct rj *stack, const struct rj *growth)
{
  if (!rj_len(growth)) return false;
  struct tsite a = {0};
  tsite_load_frames(&a, stack);
  bool hit = false;
  for (size_t i = 0; i < rj_len(growth) && !hit; i++) {
    struct tsite b = {0};
    tsite_load_frames(&b, rj_get(rj_at(growth, i), "site"));
    hit = a.nframes && !strcmp(a.key, b.key);
    free(b.key);
    free(b.frames);
  }
  free(a.key);
  free(a.frames);
  return hit;
}

/* A root named by a "growth" entry: by its label ("global g_list (prog)")
 * or its bare name. */
static bool root_growing(const struct troot *r, const struct rj *growth)
{
  for (size_t i = 0; i < rj_len(growth); i++) {
    const char *name = rj_str(rj_get(rj_at(growth, i), "root"), NULL);
    if (name && ((r->label && !strcmp(name, r->label)) || (r->name && !strcmp(name, r->name)))) return true;
  }
  return false;
}

static void num_array(FILE *f, const struct rj *arr, const char *fmt_int)
{
  fputc('[', f);
  for (size_t i = 0; i < rj_len(arr); i++) {
    if (i) fputc(',', f);
    const struct rj *v = rj_at(arr, i);
    if (fmt_int) fprintf(f, fmt_int, rj_int(v, 0));
    else fprintf(f, "%.3f", rnum(v));
  }
  fputc(']', f);
}

/* A stack (a JSON array of frames) as the page shows it: its site label,
 * or "(no stack)", as a JSON string. */
static void stack_label(FILE *f, const struct rj *stack)
{
  struct tsite s = {0};
  char label[512];
  tsite_load_frames(&s, stack);
  tjson_str_html(f, s.nframes ? tsite_label(&s, label, sizeof label) : "(no stack)");
  free(s.key);
  free(s.frames);
}

/* ,"timeline":{t_ms, bytes, series, peak, growth} when the input has one. */
static void html_timeline(FILE *f, const struct tmodel *m)
{
  const struct rj *tl = rj_get(m->doc, "timeline"), *growth = rj_get(m->doc, "growth");
  if (!tl) return;
  fputs(",\"timeline\":{\"t_ms\":", f);
  num_array(f, rj_get(tl, "t_ms"), NULL);
  fputs(",\"bytes\":", f);
  num_array(f, rj_get(tl, "bytes"), "%lld");
  fputs(",\"series\":[", f);
  const struct rj *series = rj_get(tl, "sites");
  for (size_t i = 0; i < rj_len(series); i++) {
    const struct rj *e = rj_at(series, i);
    fputs(i ? ",{\"label\":" : "{\"label\":", f);
    stack_label(f, rj_get(e, "stack"));
    fputs(",\"bytes\":", f);
    num_array(f, rj_get(e, "bytes"), "%lld");
    fprintf(f, ",\"growing\":%s}", site_growing(rj_get(e, "stack"), growth) ? "true" : "false");
  }
  const struct rj *pk = rj_get(m->doc, "peak");
  fprintf(f, "],\"peak\":{\"time_ms\":%.3f,\"bytes\":%lld},\"growth\":[", rnum(rj_get(pk, "time_ms")),
          rj_int(rj_get(pk, "bytes"), 0));
  for (size_t i = 0; i < rj_len(growth); i++) {
    const struct rj *g = rj_at(growth, i);
    fputs(i ? ",{\"root\":" : "{\"root\":", f);
    tjson_str_html(f, rj_str(rj_get(g, "root"), "?"));
    fputs(",\"site\":", f);
    stack_label(f, rj_get(g, "site"));
    fprintf(f, ",\"bytes_per_sec\":%.3f,\"blocks_per_sec\":%.3f,\"samples\":%lld}", rnum(rj_get(g, "bytes_per_sec")),
            rnum(rj_get(g, "blocks_per_sec")), rj_int(rj_get(g, "samples"), 0));
  }
  fputs("]}", f);
}

/* The page's data (see treemap.js): title, subtitle, roots and their sites. */
static void html_data(FILE *f, const struct tmodel *m, struct groot *g, size_t ng, const char *title)
{
  fputs("{\"title\":", f);
  tjson_str_html(f, title);
  char sub[512];
  if (m->snapshot)
    snprintf(sub, sizeof sub, "snapshot %lld of pid %lld: %llu live blocks (%llu bytes), %llu reachable (%llu bytes)", m->seq,
             m->pid, m->live_blocks, m->live_bytes, m->reach_blocks, m->reach_bytes);
  else
    snprintf(sub, sizeof sub, "exit report of pid %lld: %llu reachable blocks (%llu bytes); top roots only", m->pid,
             m->reach_blocks, m->reach_bytes);
  fputs(",\"sub\":", f);
  tjson_str_html(f, sub);
  fputs(",\"roots\":[", f);
  for (size_t i = 0; i < ng; i++) {
    const struct troot *r = g[i].r;
    fputs(i ? ",{\"label\":" : "{\"label\":", f);
    tjson_str_html(f, r->label);
    fputs(",\"kind\":", f);
    tjson_str_html(f, r->shared ? "shared" : r->kind);
    fprintf(f, ",\"growing\":%s", root_growing(r, rj_get(m->doc, "growth")) ? "true" : "false");
    fprintf(f, ",\"value\":%llu,\"blocks\":%llu,\"children\":[", r->bytes, r->blocks);
    for (size_t k = 0; k < g[i].ns; k++) {
      const struct gsite *s = &g[i].s[k];
      fputs(k ? ",{\"label\":" : "{\"label\":", f);
      tjson_str_html(f, s->label);
      fprintf(f, ",\"value\":%llu,\"blocks\":%llu,\"stack\":[", s->bytes, s->blocks);
      for (size_t j = 0; s->site && j < s->site->nframes && j < 16; j++) {
        struct tframe *fr = &s->site->frames[j];
        tframe_symbolize(fr);
        char line[1024];
        if (fr->file) snprintf(line, sizeof line, "#%zu %s %s:%d", j, fr->function && fr->function[0] ? fr->function : "??", fr->file, fr->line);
        else snprintf(line, sizeof line, "#%zu %s (%s+0x%llx)", j, fr->function && fr->function[0] ? fr->function : "??", tbase(fr->module), fr->offset);
        if (j) fputc(',', f);
        tjson_str_html(f, line);
      }
      fputs("]}", f);
    }
    fputs("]}", f);
  }
  fputc(']', f);
  html_timeline(f, m);
  fputc('}', f);
}

/* The page with its two holes filled: {{title}} (HTML text) and {{data}}. */
static void write_html(FILE *f, const struct tmodel *m, struct groot *g, size_t ng)
{
  char title[600];
  snprintf(title, sizeof title, "reachcheck: retained memory of %s", tbase(m->path));
  const char *p = rc_treemap_html;
  for (const char *hole; (hole = strstr(p, "{{"));) {
    fwrite(p, 1, (size_t)(hole - p), f);
    if (!strncmp(hole, "{{title}}", 9)) {
      html_text(f, title);
      p = hole + 9;
    } else if (!strncmp(hole, "{{data}}", 8)) {
      html_data(f, m, g, ng, title);
      p = hole + 8;
    } else {
      fputs("{{", f);
      p = hole + 2;
    }
  }
  fputs(p, f);
}

/* ---- options ---- */
static int usage(FILE *f, int rc)
{
  fprintf(f, "usage: reachcheck graph SNAPSHOT_OR_REPORT (--dot | --html) [-o FILE] [--top=N] [--sites=N]\n"
             "The retention tree (roots -> allocation sites, by retained bytes) of a heap\n"
             "snapshot or a JSON report written with retainers=N.\n"
             "  --dot       Graphviz (render with: dot -Tsvg FILE > tree.svg)\n"
             "  --html      a self-contained page with a zoomable treemap\n"
             "  -o FILE     write to FILE instead of stdout\n"
             "  --top=N     roots shown (default 30; 0: all)\n"
             "  --sites=N   allocation sites per root (default 12; the rest is one \"other sites\" cell)\n");
  return rc;
}

struct options {
  const char *in;
  const char *out_path;    /* NULL: stdout */
  enum { NO_MODE, DOT, HTML } mode;
  long top, per;           /* roots, sites per root; 0: all */
};

enum { GO_ON = -1 };

/* GO_ON, or the exit status (--help, or one line naming the problem). */
static int parse_options(int argc, char **argv, struct options *o)
{
  *o = (struct options){.top = 30, .per = 12};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
    if (!strcmp(a, "--dot")) o->mode = DOT;
    else if (!strcmp(a, "--html")) o->mode = HTML;
    else if (!strcmp(a, "-o") && i + 1 < argc) o->out_path = argv[++i];
    else if (!strncmp(a, "--output=", 9)) o->out_path = a + 9;
    else if (!strncmp(a, "--top=", 6) || !strncmp(a, "--sites=", 8)) {
      const char *v = strchr(a, '=') + 1;
      char *end;
      long x = strtol(v, &end, 10);
      if (!*v || *end || x < 0) {
        fprintf(stderr, "reachcheck graph: bad value in '%s'\n", a);
        return 2;
      }
      if (a[2] == 't') o->top = x;
      else o->per = x;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "reachcheck graph: unknown option '%s' (see reachcheck graph --help)\n", a);
      return 2;
    } else if (!o->in) o->in = a;
    else {
      fprintf(stderr, "reachcheck graph: one input file only ('%s')\n", a);
      return 2;
    }
  }
  return o->in && o->mode != NO_MODE ? GO_ON : usage(stderr, 2);
}

int rc_tool_graph(int argc, char **argv)
{
  struct options opt;
  int rc = parse_options(argc, argv, &opt);
  if (rc != GO_ON) return rc;
  struct tmodel m;
  if (tmodel_load(opt.in, &m)) return 2;
  size_t ng;
  struct groot *g = build_all(&m, opt.top, opt.per ? (size_t)opt.per : SIZE_MAX, &ng);
  struct tout out;
  if (tout_open(&out, "graph", opt.out_path)) return 2;
  if (opt.mode == DOT) write_dot(out.f, &m, g, ng);
  else write_html(out.f, &m, g, ng);
  return tout_close(&out) ? 2 : 0;
}
