/* Growth found automatically (docs/over-time.md, "Growth: --watch"): a
 * reachability sample of the running program every `watch` seconds (a forked
 * copy marks, as snapshots do), per named root, per heap block that no single
 * root retains (the dominator tree's top blocks) and per allocation site the
 * retained / live bytes of the last watch_keep+1 samples, and what grows in
 * them. retain/watch.c samples and keeps the history, retain/watch_out.c
 * writes what grows (text, JSON, SARIF). Layer 6 (retain). */
#ifndef RC_WATCH_H
#define RC_WATCH_H
#include "retain/retain.h"

/* What one sample sends back from its forked copy (a MAP_SHARED mapping). */
#define RC_W_ROOTS 512    /* the roots retaining the most bytes */
#define RC_W_BLOCKS 64    /* the top blocks (retained by no single root) retaining the most */
#define RC_W_SITES 1024   /* the allocation sites with the most live bytes */
#define RC_W_PATHS 8      /* why-paths to the newest block of the owners that gained the most */
#define RC_W_STEPS 12     /* blocks kept of a why-path: its first 6 and its last 6 */
#define RC_W_REACH 4      /* roots named per top block */

/* One owner of retained memory (a root or a top block) in one sample. */
struct rc_w_owner {
  uint64_t bytes, blocks;           /* retained (its dominator subtree) */
  uint64_t new_bytes, new_blocks;   /* of those, allocated since the previous sample */
  uint32_t new_site;                /* the site that allocated most of new_bytes (0: none) */
  uint64_t new_site_bytes, new_site_blocks;
  uintptr_t newest;                 /* a block of the last interval (user address), 0: none */
  uint32_t newest_slot;
};
struct rc_w_root { struct rc_root root; struct rc_w_owner o; };
struct rc_w_block {
  uintptr_t addr;
  uint64_t size;
  uint32_t stack;
  uint32_t nreach, reach_total;     /* roots named here / roots that reach it */
  struct rc_root reach[RC_W_REACH];
  struct rc_w_owner o;
};
struct rc_w_site { uint32_t stack; uintptr_t pc; uint64_t bytes, blocks; };   /* pc: the site; stack: its biggest */
struct rc_w_path {
  uintptr_t target;                 /* the block the path leads to */
  struct rc_root root;
  uint32_t nsteps;                  /* steps[0] is the root */
  uint64_t elided;
  struct rc_why_step steps[RC_W_STEPS + 1];
};
struct rc_w_sample {
  int status;                       /* 1: complete */
  double ms_pause, ms_total;        /* filled by the program: threads stopped (stop + fork), whole sample */
  double ms_graph, ms_blocks, ms_paths;   /* in the copy: graph + dominators, top blocks, why-paths */
  uint32_t nroots, nblocks, nsites, npaths;
  uint64_t live_bytes, live_blocks, reach_bytes, reach_blocks, shared_bytes, shared_blocks;
  struct rc_w_root roots[RC_W_ROOTS];
  struct rc_w_block blocks[RC_W_BLOCKS];
  struct rc_w_site sites[RC_W_SITES];
  struct rc_w_path paths[RC_W_PATHS];
};

/* Take one sample into *out (forked analysis; the program pauses for the
 * fork only). since_epoch: blocks allocated at or after this allocation
 * epoch are "new". 0 or -1 with errno. */
int rc_w_sample_take(struct rc_w_sample *out, uint32_t since_epoch);
/* Copy root r of a forked copy into the program's memory: its ELF symbol
 * is looked up again here (the copy's symbol tables died with it). */
void rc_w_root_fix(struct rc_root *r);

/* The dominator tree's top blocks (children of the super-root: reachable
 * from several roots, retained by none), biggest retained first: up to max
 * of them into out; the snapshot's blocks[] list. Forked copy or stopped world. */
struct rc_w_top { uint32_t node; uint64_t bytes, blocks; };
size_t rc_w_top_blocks(const struct rc_graph *g, const struct rc_dom *d, struct rc_w_top *out, size_t max);
/* ,"blocks":[{"address","size","site":stack id,"retained":{..},"roots":[..],"roots_total"}] */
void rc_w_blocks_json(struct rc_buf *b, const struct rc_graph *g, const struct rc_dom *d, size_t max);
/* The roots that reach block node v (reverse search), up to max into out;
 * returns how many roots reach it (capped by the search budget). */
uint32_t rc_w_reaching_roots(const struct rc_graph *g, uint32_t v, uint32_t *out, uint32_t max);

/* ---- the history and the findings (retain/watch.c) ---- */
struct rc_w_growth {
  int kind;                         /* 1 root, 2 top block, 3 allocation site */
  struct rc_root root;              /* kind 1; kind 2: the first root that reaches the block */
  struct rc_w_block block;          /* kind 2 */
  uint32_t site;                    /* the site adding to it (kind 3: the site) */
  double bytes_per_sec, blocks_per_sec, bytes_per_snap, blocks_per_snap;
  uint64_t bytes, blocks;           /* now */
  uint32_t samples, grew;           /* points in the window, intervals that grew */
  bool has_path;
  struct rc_w_path path;
};
/* Start sampling every `interval` seconds, judging keep intervals; after
 * each sample, with the history's lock held, after(findings). */
typedef void (*rc_watch_after_fn)(const struct rc_w_growth *g, size_t n, unsigned nsamples);
void rc_watch_start(double interval, unsigned keep, rc_watch_after_fn after);
void rc_watch_stop(void);           /* the end-of-process check: no sample after this */
/* Snapshots taken by --watch so far (tests wait on it). */
unsigned rc_watch_count(void);
/* The findings of the last evaluation, copied (up to max); returns how many. */
size_t rc_watch_findings(struct rc_w_growth *out, size_t max, unsigned *nsamples);

/* ---- options and output (retain/watch_out.c) ---- */
#define RC_WATCH_KEEP_MAX 64
void rc_watch_init(void);           /* constructor: --watch starts its thread */
void rc_watch_text(struct rc_buf *b, const struct rc_w_growth *g, size_t n, unsigned nsamples, bool at_exit);
void rc_watch_json_array(struct rc_buf *b, const struct rc_w_growth *g, size_t n);
void rc_watch_exit_text(int fd);
void rc_watch_exit_json(struct rc_buf *b);   /* appends ,"growth":[..],"watch":{..} */
bool rc_watch_on(void);
/* The live endpoint's page: {"pid":..,"snapshots":n,"growth":[..]}; HTTP status. */
struct rc_mbuf;
int rc_watch_page(struct rc_mbuf *out);
/* SARIF's growing-memory results (installed with rc_sarif_set_growth). */
size_t rc_watch_sarif(struct rc_sarif_growth *out, size_t max);
#endif
