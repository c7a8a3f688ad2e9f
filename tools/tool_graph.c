/* `reachcheck graph SNAPSHOT_OR_REPORT (--dot | --html) [-o FILE]`: the
 * retention tree (super-root -> roots -> allocation sites, sized by retained
 * bytes) as Graphviz dot, or as one self-contained HTML page with a zoomable
 * squarified treemap (inline script and style, no external resources). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include "tool_common.h"

struct gsite { const char *label; unsigned long long blocks, bytes; struct tsite *site; };
struct groot { const struct troot *r; struct gsite *s; size_t ns; };

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

/* A root's sites, capped; the remainder (bytes retained by the root that
 * no listed site accounts for) becomes one "other sites" entry. */
static struct groot build(const struct troot *r, size_t max_sites, char (*labels)[512], size_t *nlabels)
{
  struct groot g = {r, txmalloc((max_sites + 2) * sizeof *g.s), 0};
  unsigned long long sb = 0, sB = 0;
  for (size_t k = 0; k < r->nsites && g.ns < max_sites; k++) {
    if (!r->sites[k].site) continue;
    struct gsite *s = &g.s[g.ns++];
    s->site = r->sites[k].site;
    s->label = tsite_label(s->site, labels[(*nlabels)++], 512);
    s->blocks = r->sites[k].blocks;
    s->bytes = r->sites[k].bytes;
    sb += s->blocks;
    sB += s->bytes;
    if (ttty() && !(*nlabels & 255)) fprintf(stderr, "\rreachcheck graph: symbolized %zu sites", *nlabels);
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

/* JSON text safe inside <script type="application/json">: no '<', '>', '&'. */
static void html_json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20 || c == '<' || c == '>' || c == '&') fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static const char page_head[] =
  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
static const char page_style[] =
  "</title>\n<style>\n"
  "body{font:13px/1.35 system-ui,-apple-system,\"Segoe UI\",Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}\n"
  "header{padding:10px 14px;background:#2d3e50;color:#fff}\nheader h1{font-size:16px;margin:0 0 4px}\n"
  "header p{margin:0;opacity:.85}\n#crumbs{padding:6px 14px;background:#e9edf1;min-height:18px}\n"
  "#crumbs a{color:#1a5fb4;cursor:pointer;text-decoration:underline}\n"
  "#map{position:relative;margin:8px 14px;height:70vh;min-height:320px;background:#fff;border:1px solid #ccc}\n"
  ".cell{position:absolute;box-sizing:border-box;border:1px solid #fff;overflow:hidden;cursor:pointer}\n"
  ".cell .lbl{position:absolute;left:3px;top:2px;right:3px;font-size:11px;white-space:nowrap;overflow:hidden;"
  "text-overflow:ellipsis;pointer-events:none}\n"
  ".site{background:rgba(255,255,255,.55);border-color:rgba(0,0,0,.18)}\n.site:hover,.root:hover>.lbl{outline:2px solid #333}\n"
  "#detail{margin:0 14px 8px;padding:8px;background:#fff;border:1px solid #ccc;min-height:40px;white-space:pre-wrap;"
  "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}\n"
  "table{border-collapse:collapse;margin:0 14px 20px}\ntd,th{border:1px solid #ddd;padding:3px 8px;text-align:left}\n"
  "td.n{text-align:right;font-variant-numeric:tabular-nums}\n#err{color:#b00;margin:0 14px}\n"
  "</style>\n</head>\n<body>\n";
static const char page_script[] =
  "<script>\n\"use strict\";\n"
  "(function(){\n"
  "var data=JSON.parse(document.getElementById(\"rc-data\").textContent);\n"
  "var colors={global:\"#7aa6d6\",tls:\"#f2a65a\",stack:\"#7cc173\",register:\"#ea7f83\",other:\"#86c9c2\",shared:\"#c9c1b9\"};\n"
  "var map=document.getElementById(\"map\"),crumbs=document.getElementById(\"crumbs\"),detail=document.getElementById(\"detail\");\n"
  "var focus=null;\n"
  "function fmt(n){if(n>=1073741824)return(n/1073741824).toFixed(1)+\" GiB\";if(n>=1048576)return(n/1048576).toFixed(1)+\" MiB\";"
  "if(n>=1024)return(n/1024).toFixed(1)+\" KiB\";return n+\" B\";}\n"
  "function worst(row,side,sum){var mx=0,mn=Infinity;for(var i=0;i<row.length;i++){mx=Math.max(mx,row[i].a);mn=Math.min(mn,row[i].a);}"
  "var s2=sum*sum,w2=side*side;return Math.max(w2*mx/s2,s2/(w2*mn));}\n"
  "function squarify(items,x,y,w,h){var total=0,out=[],i;for(i=0;i<items.length;i++)total+=items[i].value;"
  "if(total<=0||w<=0||h<=0)return out;var scale=w*h/total,rest=[];for(i=0;i<items.length;i++)if(items[i].value>0)"
  "rest.push({item:items[i],a:items[i].value*scale});\n"
  "while(rest.length){var side=Math.min(w,h),row=[rest[0]],sum=rest[0].a,k=1;"
  "while(k<rest.length){var cand=row.concat([rest[k]]);if(worst(cand,side,sum+rest[k].a)<=worst(row,side,sum)){row=cand;sum+=rest[k].a;k++;}else break;}"
  "rest=rest.slice(k);var thick=sum/side,off=0;\n"
  "for(var j=0;j<row.length;j++){var len=row[j].a/thick;if(w>=h)out.push({item:row[j].item,x:x,y:y+off,w:thick,h:len});"
  "else out.push({item:row[j].item,x:x+off,y:y,w:len,h:thick});off+=len;}\n"
  "if(w>=h){x+=thick;w-=thick;}else{y+=thick;h-=thick;}}return out;}\n"
  "function cell(parent,r,cls,color,label,title){var d=document.createElement(\"div\");d.className=\"cell \"+cls;"
  "d.style.left=r.x+\"px\";d.style.top=r.y+\"px\";d.style.width=Math.max(0,r.w)+\"px\";d.style.height=Math.max(0,r.h)+\"px\";"
  "if(color)d.style.background=color;d.title=title;var l=document.createElement(\"div\");l.className=\"lbl\";"
  "l.textContent=label;d.appendChild(l);parent.appendChild(d);return d;}\n"
  "function describe(root,site){var t=root.label+\"\\nretains \"+fmt(root.value)+\" in \"+root.blocks+\" blocks\";"
  "if(site){t+=\"\\n\\n\"+site.label+\": \"+fmt(site.value)+\" in \"+site.blocks+\" blocks\";"
  "if(site.stack&&site.stack.length)t+=\"\\n  \"+site.stack.join(\"\\n  \");}return t;}\n"
  "function showSites(box,root,rect,top){var n=0;var rs=squarify(root.children,rect.x,rect.y+top,rect.w,rect.h-top);"
  "for(var i=0;i<rs.length;i++){(function(s,r){var c=cell(box,{x:r.x-rect.x,y:r.y-rect.y,w:r.w,h:r.h},\"site\",null,"
  "s.label+\" \"+fmt(s.value),describe(root,s));c.addEventListener(\"click\",function(ev){ev.stopPropagation();"
  "detail.textContent=describe(root,s);});})(rs[i].item,rs[i]);n++;}return n;}\n"
  "function render(){map.textContent=\"\";var W=map.clientWidth,H=map.clientHeight,n=0;crumbs.textContent=\"\";"
  "var all=document.createElement(\"a\");all.textContent=\"all roots\";all.addEventListener(\"click\",function(){focus=null;render();});"
  "crumbs.appendChild(all);\n"
  "if(focus===null){crumbs.appendChild(document.createTextNode(\" \\u2014 click a root to zoom in, a site for its stack\"));"
  "var rs=squarify(data.roots,0,0,W,H);for(var i=0;i<rs.length;i++){(function(root,r,idx){"
  "var box=cell(map,r,\"root\",colors[root.kind]||colors.other,root.label+\" \\u2014 \"+fmt(root.value),describe(root,null));"
  "box.addEventListener(\"click\",function(){focus=idx;render();});n++;"
  "if(r.w>40&&r.h>40)n+=showSites(box,root,{x:r.x,y:r.y,w:r.w,h:r.h},16);})(rs[i].item,rs[i],data.roots.indexOf(rs[i].item));}}\n"
  "else{var root=data.roots[focus];crumbs.appendChild(document.createTextNode(\" \\u203a \"+root.label));"
  "var box=cell(map,{x:0,y:0,w:W,h:H},\"root\",colors[root.kind]||colors.other,root.label+\" \\u2014 \"+fmt(root.value),describe(root,null));"
  "box.addEventListener(\"click\",function(){focus=null;render();});n++;n+=showSites(box,root,{x:0,y:0,w:W,h:H},18);"
  "detail.textContent=describe(root,null);}\n"
  "document.body.setAttribute(\"data-rendered\",String(n));}\n"
  "function table(){var t=document.getElementById(\"roots\");for(var i=0;i<data.roots.length;i++){var r=data.roots[i],"
  "tr=document.createElement(\"tr\");var cells=[String(i+1),r.label,r.kind,fmt(r.value),String(r.blocks)];"
  "for(var k=0;k<cells.length;k++){var td=document.createElement(\"td\");td.textContent=cells[k];if(k===0||k>2)td.className=\"n\";"
  "tr.appendChild(td);}t.appendChild(tr);}}\n"
  "document.addEventListener(\"keydown\",function(e){if(e.key===\"Escape\"||e.key===\"Backspace\"){focus=null;render();}});\n"
  "window.addEventListener(\"resize\",render);\n"
  "var hm=/^#root=([0-9]+)$/.exec(location.hash);if(hm&&+hm[1]<data.roots.length)focus=+hm[1];\n"
  "table();render();\n"
  "})();\n</script>\n";

static void write_html(FILE *f, const struct tmodel *m, struct groot *g, size_t ng)
{
  char title[600];
  snprintf(title, sizeof title, "reachcheck: retained memory of %s", tbase(m->path));
  fputs(page_head, f);
  for (const char *c = title; *c; c++) {   /* HTML-escape */
    if (*c == '<') fputs("&lt;", f);
    else if (*c == '>') fputs("&gt;", f);
    else if (*c == '&') fputs("&amp;", f);
    else fputc(*c, f);
  }
  fputs(page_style, f);
  fputs("<header><h1 id=\"title\"></h1><p id=\"sub\"></p></header>\n<div id=\"crumbs\"></div>\n<div id=\"map\"></div>\n"
        "<div id=\"detail\">Click a cell for details.</div>\n<p id=\"err\"></p>\n"
        "<table><thead><tr><th>#</th><th>root</th><th>kind</th><th>retained</th><th>blocks</th></tr></thead>"
        "<tbody id=\"roots\"></tbody></table>\n"
        "<script>window.addEventListener(\"error\",function(e){document.body.setAttribute(\"data-error\",String(e.message));"
        "document.getElementById(\"err\").textContent=\"error: \"+e.message;});</script>\n"
        "<script type=\"application/json\" id=\"rc-data\">{\"title\":", f);
  html_json_str(f, title);
  char sub[512];
  if (m->snapshot)
    snprintf(sub, sizeof sub, "snapshot %lld of pid %lld: %llu live blocks (%llu bytes), %llu reachable (%llu bytes)", m->seq,
             m->pid, m->live_blocks, m->live_bytes, m->reach_blocks, m->reach_bytes);
  else
    snprintf(sub, sizeof sub, "exit report of pid %lld: %llu reachable blocks (%llu bytes); top roots only", m->pid,
             m->reach_blocks, m->reach_bytes);
  fputs(",\"sub\":", f);
  html_json_str(f, sub);
  fputs(",\"roots\":[", f);
  for (size_t i = 0; i < ng; i++) {
    const struct troot *r = g[i].r;
    fputs(i ? ",{\"label\":" : "{\"label\":", f);
    html_json_str(f, r->label);
    fputs(",\"kind\":", f);
    html_json_str(f, r->shared ? "shared" : r->kind);
    fprintf(f, ",\"value\":%llu,\"blocks\":%llu,\"children\":[", r->bytes, r->blocks);
    for (size_t k = 0; k < g[i].ns; k++) {
      const struct gsite *s = &g[i].s[k];
      fputs(k ? ",{\"label\":" : "{\"label\":", f);
      html_json_str(f, s->label);
      fprintf(f, ",\"value\":%llu,\"blocks\":%llu,\"stack\":[", s->bytes, s->blocks);
      for (size_t j = 0; s->site && j < s->site->nframes && j < 16; j++) {
        struct tframe *fr = &s->site->frames[j];
        tframe_symbolize(fr);
        char line[1024];
        if (fr->file) snprintf(line, sizeof line, "#%zu %s %s:%d", j, fr->function && fr->function[0] ? fr->function : "??", fr->file, fr->line);
        else snprintf(line, sizeof line, "#%zu %s (%s+0x%llx)", j, fr->function && fr->function[0] ? fr->function : "??", tbase(fr->module), fr->offset);
        if (j) fputc(',', f);
        html_json_str(f, line);
      }
      fputs("]}", f);
    }
    fputs("]}", f);
  }
  fputs("]}</script>\n<script>(function(){var d=JSON.parse(document.getElementById(\"rc-data\").textContent);"
        "document.getElementById(\"title\").textContent=d.title;document.getElementById(\"sub\").textContent=d.sub;})();</script>\n", f);
  fputs(page_script, f);
  fputs("</body>\n</html>\n", f);
}

int rc_tool_graph(int argc, char **argv)
{
  const char *in = NULL, *out_path = NULL;
  int mode = 0;   /* 1 dot, 2 html */
  long top = 30, per = 12;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout, 0);
    if (!strcmp(a, "--dot")) mode = 1;
    else if (!strcmp(a, "--html")) mode = 2;
    else if (!strcmp(a, "-o") && i + 1 < argc) out_path = argv[++i];
    else if (!strncmp(a, "--output=", 9)) out_path = a + 9;
    else if (!strncmp(a, "--top=", 6) || !strncmp(a, "--sites=", 8)) {
      const char *v = strchr(a, '=') + 1;
      char *end;
      long x = strtol(v, &end, 10);
      if (!*v || *end || x < 0) {
        fprintf(stderr, "reachcheck graph: bad value in '%s'\n", a);
        return 2;
      }
      if (a[2] == 't') top = x;
      else per = x;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "reachcheck graph: unknown option '%s' (see reachcheck graph --help)\n", a);
      return 2;
    } else if (!in) in = a;
    else {
      fprintf(stderr, "reachcheck graph: one input file only ('%s')\n", a);
      return 2;
    }
  }
  if (!in || !mode) {
    usage(stderr, 2);
    return 2;
  }
  struct tmodel m;
  if (tmodel_load(in, &m)) return 2;
  size_t ng = m.nroots;
  if (top && (size_t)top < ng) ng = (size_t)top;
  /* the shared bucket stays in the picture even when the top N cut it */
  bool add_shared = ng < m.nroots && m.roots[m.nroots - 1].shared && m.roots[m.nroots - 1].bytes;
  struct groot *g = txmalloc((ng + 1) * sizeof *g);
  size_t total_sites = 0;
  for (size_t i = 0; i < m.nroots; i++) total_sites += m.roots[i].nsites;
  char(*labels)[512] = txmalloc((total_sites + 1) * 512);
  size_t nlabels = 0, k = 0;
  for (size_t i = 0; i < ng; i++) {
    if (!m.roots[i].bytes) continue;
    g[k++] = build(&m.roots[i], (size_t)(per ? per : 1000000), labels, &nlabels);
  }
  if (add_shared) g[k++] = build(&m.roots[m.nroots - 1], (size_t)(per ? per : 1000000), labels, &nlabels);
  if (ttty() && nlabels >= 256) fprintf(stderr, "\r\033[K");
  FILE *f = stdout;
  if (out_path && !(f = fopen(out_path, "w"))) {
    fprintf(stderr, "reachcheck graph: cannot write '%s'\n", out_path);
    return 2;
  }
  if (mode == 1) write_dot(f, &m, g, k);
  else write_html(f, &m, g, k);
  if (f != stdout ? fclose(f) : fflush(f)) {
    fprintf(stderr, "reachcheck graph: cannot write '%s'\n", out_path ? out_path : "stdout");
    return 2;
  }
  return 0;
}
