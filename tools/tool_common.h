/* What the offline tools (tool_diff.c, tool_graph.c) share, by file: the
 * model of a snapshot or JSON report (model.c), offline symbolization
 * (tsym.c), JSON output (tjson.c), a string map (tmap.c) and small helpers
 * (tool_common.c). */
#ifndef RC_TOOL_COMMON_H
#define RC_TOOL_COMMON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "base/base.h"
#include "json_read.h"

/* ---- model.c: a snapshot or report as roots and allocation sites ---- */
struct tframe {
  const char *function;    /* demangled once symbolized */
  const char *file;        /* NULL if unknown */
  int line;
  const char *module;
  unsigned long long offset, pc;
  bool done;               /* symbolized */
};

struct tsite {
  long long id;            /* the snapshot's site id (stack id in that process) */
  struct tframe *frames;
  size_t nframes;
  char *key;               /* module:offset of every frame: equal in two snapshots */
  unsigned long long blocks, bytes;            /* live (snapshot) or retained (report) */
  unsigned long long reach_blocks, reach_bytes;
};

struct tref { struct tsite *site; unsigned long long blocks, bytes; };   /* site NULL: "other sites" */

struct troot {
  const char *kind, *name, *module;
  long long thread;        /* 0: none */
  const char *file;
  int line;
  char *key;               /* kind|name|module|thread */
  char *label;             /* "global g_cache (prog)" */
  unsigned long long blocks, bytes;
  struct tref *sites;
  size_t nsites;
  bool shared;             /* the "reachable from several roots" bucket */
};

/* A snapshot's blocks[] entry: a heap block no single root retains, with
 * what it retains (the dominator tree's top blocks, retain/watch_sample.c). */
struct tblock {
  char *key;               /* address|site key: equal in two snapshots of one process */
  char *label;             /* "1280 B at 0x.. from initServer (reachable from server, lctx)" */
  struct tsite *site;      /* NULL if the site is unknown */
  unsigned long long addr, size, blocks, bytes;
};

struct tmodel {
  const char *path;
  bool snapshot;           /* else a JSON report */
  long long pid, seq, time_ms;
  unsigned long long live_blocks, live_bytes, reach_blocks, reach_bytes;
  struct tsite **sites;    /* by bytes, biggest first */
  size_t nsites;
  struct troot *roots;     /* by retained bytes, biggest first; shared bucket last if any */
  size_t nroots;
  struct tblock *blocks;   /* snapshots: by retained bytes, biggest first */
  size_t nblocks;
  struct rj *doc;
};

/* A site's frames and key from a stack's JSON array (model.c). */
void tsite_load_frames(struct tsite *s, const struct rj *stack);
/* Read, check and load path: 0, or one error line on stderr and -1. */
int tmodel_load(const char *path, struct tmodel *m);
void tmodel_free(struct tmodel *m);

/* ---- tsym.c ---- */
/* Fill function/file/line of a frame from its module file (cached). */
void tframe_symbolize(struct tframe *f);
/* "func file.c:12" of the first frame (symbolized), into buf. */
const char *tsite_label(struct tsite *s, char *buf, size_t n);
/* A symbol's display name (C++ demangled, no version suffix), malloc'd. */
const char *tsym_demangle(const char *name);

/* ---- tjson.c ---- */
void tjson_str(FILE *f, const char *s);
/* The same, also safe inside an HTML <script>: no '<', '>' or '&'. */
void tjson_str_html(FILE *f, const char *s);
void tjson_frames(FILE *f, struct tsite *s);
void tjson_root(FILE *f, const struct troot *r);

/* ---- tmap.c: a string -> pointer hash map ---- */
struct tmap { char **keys; void **vals; size_t cap, n; };
void *tmap_get(const struct tmap *m, const char *key);
void tmap_put(struct tmap *m, char *key, void *val);   /* key is borrowed */
void tmap_put_copy(struct tmap *m, const char *key, void *val);   /* key is copied when new */
void tmap_free(struct tmap *m);

/* ---- tool_common.c ---- */
/* calloc, realloc and strdup that exit with "out of memory" on failure. */
void *txmalloc(size_t n);
void *txrealloc(void *p, size_t n);
char *txstrdup(const char *s);
const char *tbase(const char *path);   /* the part after the last '/' ("?" for NULL) */
/* Where a tool writes: stdout, or a file written atomically and link-safely
 * (base/fileout.h: a reader never sees half of it, a failed run leaves the
 * old file). Open and close print one error line and return -1. */
struct tout {
  FILE *f;
  const char *tool, *path;   /* path NULL: stdout */
  struct rc_out out;
};
int tout_open(struct tout *t, const char *tool, const char *path);
int tout_close(struct tout *t);   /* flush, or close and rename into place */

/* ---- the subcommands (tool_diff.c, tool_graph.c) ---- */
int rc_tool_diff(int argc, char **argv);
int rc_tool_graph(int argc, char **argv);
#endif
