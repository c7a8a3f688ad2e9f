/* `reachcheck pprof SNAPSHOT_OR_REPORT.json -o FILE`: what reachcheck
 * already writes, as a pprof profile (the format of core/profile/). A
 * snapshot gives every live block: by retaining root (label root, state
 * reachable; roots' sites past the snapshot's 100 per root appear as one
 * "[other sites]" frame) and the unreachable rest (state leaked). A JSON
 * report gives its leaks and what its retainers (the top roots, retainers=N)
 * hold. Neither records allocation counts: alloc_* are 0. Frames of
 * snapshots are symbolized here from the module files (libdw). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/pprof.h"
#include "tool_common.h"

struct conv {
  struct rc_pp *pp;
  struct tmap maps;        /* module path -> mapping id (as a pointer) */
};

static uint64_t mapping_of(struct conv *c, const struct tframe *f)
{
  if (!f->module || !strcmp(f->module, "?")) return 0;
  uintptr_t id = (uintptr_t)tmap_get(&c->maps, f->module);
  if (id) return id;
  struct rc_elf_span sp;
  unsigned long long bias = f->pc - f->offset;
  if (rc_pp_elf_info(f->module, &sp))
    id = rc_pp_mapping(c->pp, bias + sp.vlo, bias + sp.vhi, sp.off, f->module, sp.build_id, true);
  else
    id = rc_pp_mapping(c->pp, f->pc, f->pc + 1, 0, f->module, NULL, true);
  tmap_put_copy(&c->maps, f->module, (void *)id);
  return id;
}

static uint64_t location_of(struct conv *c, struct tframe *f)
{
  tframe_symbolize(f);
  char name[1024];
  if (f->function && f->function[0]) snprintf(name, sizeof name, "%s", f->function);
  else snprintf(name, sizeof name, "%s+0x%llx", tbase(f->module ? f->module : "?"), f->offset);
  uint64_t fn = rc_pp_function(c->pp, name, NULL, f->file ? f->file : "", 0);
  /* one location per (function, line, pc): equal frames of two sites share it */
  uint64_t key = (f->pc * 0x9e3779b97f4a7c15ull) ^ (fn << 20) ^ (uint64_t)f->line ^ 1;
  struct rc_pp_line line = {fn, f->line};
  return rc_pp_location(c->pp, key, mapping_of(c, f), f->pc, &line, 1);
}

static int frames_locs(struct conv *c, struct tframe *fr, size_t n, uint64_t *locs, size_t max)
{
  size_t k = 0;
  for (size_t i = 0; i < n && k < max; i++) locs[k++] = location_of(c, &fr[i]);
  return (int)k;
}

static void sample(struct conv *c, struct tsite *s, const char *other, unsigned long long blocks, unsigned long long bytes,
                   bool leaked, const char *root)
{
  uint64_t locs[256];
  int nl = 0;
  if (s) nl = frames_locs(c, s->frames, s->nframes, locs, 256);
  else {
    struct rc_pp_line line = {rc_pp_function(c->pp, other, NULL, "", 0), 0};
    locs[nl++] = rc_pp_location(c->pp, 0, 0, 0, &line, 1);
  }
  int64_t v[RC_PP_NVALUES] = {0, 0, (int64_t)blocks, (int64_t)bytes, leaked ? (int64_t)blocks : 0, leaked ? (int64_t)bytes : 0};
  struct rc_pp_label lab[2] = {{"state", leaked ? "leaked" : "reachable", 0}, {"root", root, 0}};
  rc_pp_sample(c->pp, locs, nl, v, RC_PP_NVALUES, lab, leaked ? 1 : 2);
}

int rc_tool_pprof(int argc, char **argv)
{
  const char *in = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) out = argv[++i];
    else if (!strncmp(argv[i], "-o", 2) && argv[i][2]) out = argv[i] + 2;
    else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "reachcheck pprof: unknown flag '%s'\n", argv[i]);
      return 2;
    } else if (!in) in = argv[i];
    else {
      fprintf(stderr, "reachcheck pprof: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (!in || !out) {
    fprintf(stderr, "usage: reachcheck pprof SNAPSHOT_OR_REPORT.json -o FILE\n");
    return 2;
  }
  struct tmodel m;
  if (tmodel_load(in, &m)) return 1;
  struct conv c;
  memset(&c, 0, sizeof c);
  c.pp = rc_pp_new();
  if (!c.pp) {
    fprintf(stderr, "reachcheck pprof: out of memory\n");
    return 1;
  }
  rc_pp_sample_types(c.pp, rc_pp_value_names, RC_PP_NVALUES, "inuse_space");
  rc_pp_period(c.pp, "space", "bytes", 1);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  rc_pp_times(c.pp, m.time_ms ? m.time_ms * 1000000 : (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, 0);
  char line[4200];
  rc_pp_comment(c.pp, "reachcheck 1.0.0 (reachcheck pprof)");
  snprintf(line, sizeof line, "converted from %s %s", m.snapshot ? "snapshot" : "report", in);
  rc_pp_comment(c.pp, line);
  snprintf(line, sizeof line, "pid: %lld", m.pid);
  rc_pp_comment(c.pp, line);
  rc_pp_comment(c.pp, "alloc_* are 0: snapshots and reports do not record allocation counts");
  for (size_t i = 0; i < m.nroots; i++) {
    struct troot *r = &m.roots[i];
    char other[1200];
    snprintf(other, sizeof other, "[other sites of %s]", r->shared ? "shared" : r->label);
    for (size_t k = 0; k < r->nsites; k++)
      sample(&c, r->sites[k].site, other, r->sites[k].blocks, r->sites[k].bytes, false, r->shared ? "shared" : r->label);
  }
  if (m.snapshot) {
    for (size_t i = 0; i < m.nsites; i++) {
      struct tsite *s = m.sites[i];
      if (s->blocks > s->reach_blocks) sample(&c, s, NULL, s->blocks - s->reach_blocks, s->bytes - s->reach_bytes, true, NULL);
    }
  } else {
    const struct rj *leaks = rj_get(m.doc, "leaks");
    for (size_t i = 0; i < rj_len(leaks); i++) {
      const struct rj *g = rj_at(leaks, i);
      const char *kind = rj_str(rj_get(g, "kind"), "");
      if (strcmp(kind, "direct") && strcmp(kind, "indirect")) continue;
      const struct rj *st = rj_get(g, "stack");
      struct tsite s;
      memset(&s, 0, sizeof s);
      s.nframes = rj_len(st);
      s.frames = txmalloc((s.nframes ? s.nframes : 1) * sizeof *s.frames);
      for (size_t k = 0; k < s.nframes; k++) {
        const struct rj *fr = rj_at(st, k);
        struct tframe *f = &s.frames[k];
        memset(f, 0, sizeof *f);
        f->function = rj_str(rj_get(fr, "function"), "");
        f->module = rj_str(rj_get(fr, "module"), "?");
        f->offset = rj_hex(rj_get(fr, "offset"), 0);
        f->pc = rj_hex(rj_get(fr, "pc"), 0);
        f->file = rj_str(rj_get(fr, "file"), NULL);
        f->line = (int)rj_int(rj_get(fr, "line"), 0);
        f->done = (f->file && f->file[0]) || (f->function && f->function[0]);
      }
      sample(&c, &s, NULL, (unsigned long long)rj_int(rj_get(g, "blocks"), 0),
             (unsigned long long)rj_int(rj_get(g, "bytes"), 0), true, NULL);
      free(s.frames);
    }
  }
  struct rc_mbuf raw = {0}, gz = {0};
  rc_pp_encode(c.pp, &raw);
  int rc = 0;
  if (raw.oom || rc_pp_gzip(raw.d, raw.len, &gz)) {
    fprintf(stderr, "reachcheck pprof: out of memory encoding the profile\n");
    rc = 1;
  } else if (rc_pp_write_file(out, gz.d, gz.len)) {
    fprintf(stderr, "reachcheck pprof: cannot write '%s': %s\n", out, strerror(errno));
    rc = 1;
  }
  rc_mbuf_free(&raw);
  rc_mbuf_free(&gz);
  rc_pp_free(c.pp);
  tmap_free(&c.maps);
  tmodel_free(&m);
  return rc;
}
