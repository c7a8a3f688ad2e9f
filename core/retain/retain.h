/* The retain layer: named roots (retain/rootset.c collects them, retain/rootdesc.c names them), the heap graph of
 * reachable blocks (retain/graph.c) and its dominator tree (retain/dom.c),
 * shortest root paths (retain/why.c), heap snapshots (retain/snapshot.c) and
 * retention in the exit report (retain/exit.c). Uses every layer below it. Everything that
 * runs during a check runs with the world stopped or in a forked copy: no
 * locks, no allocation from the checked heap, memory from rc_mmap/rc_vec. */
#ifndef RC_RETAIN_H
#define RC_RETAIN_H
#include "check/mark.h"
#include "report/report.h"
#include "symbols/symbols.h"

/* Arrays of the graph algorithms: rc_mmap'd (zeroed), at least one element. */
static inline void *rc_map_array(size_t n, size_t elem) { return rc_mmap_dense((n ? n : 1) * elem); }
static inline void rc_unmap_array(void *p, size_t n, size_t elem) { rc_munmap(p, (n ? n : 1) * elem); }

/* ---- named roots (retain/rootset.c collects them, retain/rootdesc.c names them) ---- */
enum rc_root_sub {
  RC_RS_GLOBAL,       /* a global or static: symbol (sym) or module+vaddr */
  RC_RS_TLS,          /* a __thread variable: symbol (sym) or "TLS of thread N" */
  RC_RS_TLS_DESC,     /* the thread descriptor: pthread_setspecific values */
  RC_RS_DTV,          /* the DTV of a thread */
  RC_RS_STACK,        /* a stack frame: thread + frame number + pc */
  RC_RS_REGISTER,     /* a saved register of a thread */
  RC_RS_LDSO,         /* blocks ld.so allocated for itself */
  RC_RS_IGNORED,      /* blocks passed to reachcheck_ignore() */
  RC_RS_OTHER,        /* any other root range (named by its part) */
  RC_RS_MAPPING,      /* an anonymous mapping the program made: key start, vaddr end, pc its mmap's stack id */
};

/* One root node of the graph: every root word with the same identity
 * (same symbol, same frame, same register) is one root. */
struct rc_root {
  uint8_t kind;          /* enum rc_root_kind */
  uint8_t sub;           /* enum rc_root_sub */
  uint16_t frame;        /* RC_RS_STACK: 0 = innermost */
  int32_t thread;        /* tid, 0 for process-wide roots */
  uintptr_t key;         /* identity within (sub, thread): symbol address, return-address slot, ... */
  uintptr_t pc;          /* RC_RS_STACK: the frame's pc (a return address unless frame 0) */
  uintptr_t vaddr;       /* RC_RS_GLOBAL/TLS: address of the symbol (or word) in the module file; TLS: offset */
  uint32_t gen;          /* module generation of pc and module */
  const char *module;    /* module path (lives as long as the process) or NULL */
  const char *sym;       /* raw (mangled) symbol name from the module file, or NULL */
  int16_t reg;           /* RC_RS_REGISTER: index in ucontext's gregs */
  uint8_t part;          /* RC_RS_OTHER: enum rc_root_part of its range */
};

struct rc_root_edge { uint32_t root, slot; uintptr_t word; };

/* Collects the root words of one check that point into blocks, grouped into
 * named roots. Fed from the root hook (before each range is marked, while
 * the memory is still what the marker sees) and, after marking, with the
 * blocks that are roots themselves (ld.so's, ignored ones). */
struct rc_rootset {
  struct rc_vec roots;   /* struct rc_root */
  struct rc_vec edges;   /* struct rc_root_edge */
  uint32_t *hash;        /* root identity -> index + 1 */
  size_t hcap;
  struct rc_vec scratch; /* pointer words of one stack range */
  struct rc_vec frames;  /* return-address slots of one stack range */
  struct rc_vec exec;    /* executable mappings, for return addresses */
  struct rc_vec tlsmods; /* module TLS layout of this process */
  struct rc_vec dyntls;  /* dynamic TLS blocks seen in DTVs */
  struct rc_vec rips;    /* pc of each thread (its "rip" register root) */
  bool exec_ok, tls_ok;
  uint32_t gen;
  /* reachcheck_why: the calling thread's registers and the stack below its
   * caller's frame hold copies of the pointer asked about: not roots. */
  long skip_tid;
  uintptr_t skip_below;
  bool failed;           /* out of memory: results are incomplete */
  /* a snapshot's forked copy: its only thread reports as the thread that
   * asked for the snapshot */
  long rename_from, rename_to;
  long stack_thread;     /* the thread whose stack edges start at stack_edges_from */
  size_t stack_edges_from;
  bool blocks_added;     /* rc_rootset_blocks ran */
  struct rc_vec deferred; /* ranges kept by rc_rootset_defer (elem 0: none yet) */
};
void rc_rootnames_init(void);   /* constructor: TLS layout constants */
void rc_rootset_init(struct rc_rootset *s);
void rc_rootset_free(struct rc_rootset *s);
/* A root range from the check's root hook. */
void rc_rootset_range(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const struct rc_root_range *range);
/* The same, in two steps: the check's root hook only keeps the range (and
 * reads what only the checking thread can), and rc_rootset_replay, in the
 * after-mark hook while the world is still stopped, names its roots then,
 * once it knows they are wanted: a clean program's exit names none
 * (retain/exit.c). The memory is the same at both times, but for the
 * checking thread's own frames below its outermost reachcheck frame, which
 * neither step reads (docs/design.md). */
void rc_rootset_defer(struct rc_rootset *s, uintptr_t lo, uintptr_t hi, const struct rc_root_range *range);
void rc_rootset_replay(struct rc_rootset *s);
/* A live block that is a root itself (RC_F_LDSO or RC_F_IGNORED). */
void rc_rootset_block(struct rc_rootset *s, struct rc_hdr *h);
/* Every marked block that is a root itself, in slot order; once per root
 * set (the graph and the ownership pass may both ask). */
void rc_rootset_blocks(struct rc_rootset *s, const struct rc_mark *m);
static inline struct rc_root *rc_rootset_at(const struct rc_rootset *s, uint32_t i)
{ return &((struct rc_root *)s->roots.data)[i]; }
/* Zeroed internal memory for the context of a forked check (below), or
 * NULL with errno EAGAIN before the heap is set up, ENOMEM without memory. */
void *rc_rootset_forked_ctx(size_t bytes);
/* A check in a forked copy that names its roots into rs (snapshots, --watch
 * samples): rs is initialised here, the modules refreshed first so that
 * the names the copy finds are the program's too, and the copy's only
 * thread reports as the calling one. after_mark and in_child run in the
 * copy with ctx; res as rc_check_run's (its lists freed here; child and
 * the times stay). The caller waits for res->child and frees rs. */
int rc_rootset_check_forked(struct rc_rootset *rs, void *ctx, void (*after_mark)(void *ctx, struct rc_mark *m),
                            void (*in_child)(void *ctx, struct rc_result *res), struct rc_result *res);
/* The (at most k) roots that retain the most bytes, biggest first, into
 * out; rbytes and rblocks are indexed 1 + root, as rc_dom's and rc_own's.
 * Returns how many; *nretaining (if not NULL): the roots that retain any. */
uint32_t rc_top_roots(const uint64_t *rbytes, const uint64_t *rblocks, uint32_t nroots, uint32_t *out, uint32_t k,
                      uint32_t *nretaining);


/* Report time (world running; libdw and malloc allowed when symbolize). */
struct rc_root_desc {
  const char *kind;      /* "global", "tls", "stack", "register", "mapping", "other" */
  char name[320];        /* demangled symbol, function, register, ... */
  const char *module;    /* path or NULL */
  const char *file;      /* stack roots: source file of the frame, or NULL */
  int line;
};
void rc_root_describe(const struct rc_root *r, bool symbolize, struct rc_root_desc *d);
/* {"kind":..,"name":..,"module":..,"thread":..[,"frame":..,"file":..,"line":..][,"offset":off]} */
void rc_root_json(struct rc_buf *b, const struct rc_root *r, bool symbolize, long offset);
/* "global g_cache (prog)", "stack of thread 12, frame #2 main (a.c:12)" */
void rc_root_text(struct rc_buf *b, const struct rc_root *r);

/* ---- the graph (retain/graph.c) and its dominator tree (retain/dom.c) ---- */
/* Nodes: 0 is the virtual super-root, 1..nblocks the reachable blocks (in
 * slot order), nblocks+1.. the roots. Edges in CSR form; a root's edges
 * carry the address of the root word. */
struct rc_graph {
  uint32_t n, nblocks, nroots;
  uint32_t nslots;
  uint32_t *node_of;     /* slot -> block node, 0 if not a block node */
  uint32_t *slot_of;     /* block node -> slot */
  uint32_t *off;         /* n + 1: edges of node v are succ[off[v] .. off[v + 1]) */
  uint32_t *succ;
  uint64_t nedges;
  uintptr_t *rword;      /* root edge e: rword[e - off[nblocks + 1]] */
  uint64_t nrword;
  struct rc_vec succ_store;   /* owns succ */
  struct rc_rootset *rs;
  bool tty;
};
static inline bool rc_graph_is_root(const struct rc_graph *g, uint32_t v) { return v > g->nblocks; }
static inline uint32_t rc_graph_root_node(const struct rc_graph *g, uint32_t r) { return g->nblocks + 1 + r; }
static inline struct rc_hdr *rc_graph_hdr(const struct rc_graph *g, uint32_t v) { return rc_slot_hdr(g->slot_of[v]); }
/* Bytes (requested size) of block node v: read from its header (a copy per
 * node would cost 8 bytes per reachable block at exit). */
static inline uint64_t rc_graph_size(const struct rc_graph *g, uint32_t v) { return rc_hdr_size(rc_graph_hdr(g, v)); }
/* Build from the marks of a finished mark phase and the roots collected in
 * rs (the blocks that are roots themselves are added to rs here). */
int rc_graph_build(struct rc_graph *g, struct rc_mark *m, struct rc_rootset *rs);
void rc_graph_free(struct rc_graph *g);

/* Dominator tree (iterative Lengauer-Tarjan) from the super-root. Blocks
 * the roots do not reach (the marker saw a pointer the root set no longer
 * holds) hang off the super-root. Per node: immediate dominator, retained
 * bytes and blocks (its dominator subtree), and the child of the super-root
 * above it (its retaining root, or itself for a block no single root owns). */
struct rc_dom {
  uint32_t *top;         /* block node -> root node retaining it, or itself */
  uint64_t *rbytes, *rblocks;   /* [0]: everything; [1 + r]: retained by root r */
  uint32_t nroots;
  size_t ntop;
};
int rc_dom_compute(const struct rc_graph *g, struct rc_dom *d);
void rc_dom_free(struct rc_dom *d);

/* Exclusive ownership (retain/owner.c): per block, the root dominating it in
 * the tree above (the super-root's child over it), without the graph or the
 * tree: what the at-exit report and profile need. own[slot]: 0 for no node
 * (unmarked, or a block that is a root itself), root index + 1, or
 * RC_OWN_SHARED (reached from two roots, or from a block no root reaches). */
#define RC_OWN_SHARED UINT32_MAX
/* Per (retaining root, allocation stack) totals. */
struct rc_site_sum { uint32_t owner, stack; uint64_t blocks, bytes; };
struct rc_site_tab { struct rc_site_sum *e; size_t cap, used; };
struct rc_own {
  /* slot -> owner, 1 byte a slot when the root indexes fit (nroots < 255),
   * 2 below 65535 roots, else 4; read through rc_own_get */
  uint8_t *own8;
  uint16_t *own16;
  uint32_t *own32;
  uint32_t shared;       /* the stored code of "shared": 0xff, 0xffff or RC_OWN_SHARED */
  uint32_t nslots, nroots;
  uint64_t *rbytes, *rblocks;   /* as rc_dom's: [0] every node; [1 + r] retained by root r */
  uint64_t shared_blocks, shared_bytes;
  /* With rc_own_compute's sites: per (root index + 1, allocation stack)
   * what the root retains alone (blocks may be 0), and per (0, stack) the
   * blocks no single root retains. */
  struct rc_site_tab sites;
};
static inline uint32_t rc_own_get(const struct rc_own *o, uint32_t slot)
{
  uint32_t v = o->own8 ? o->own8[slot] : o->own32 ? o->own32[slot] : o->own16[slot];
  return v == o->shared ? RC_OWN_SHARED : v;
}
/* From a finished mark and the roots collected in rs (the blocks that are
 * roots themselves are added to rs here, as rc_graph_build does). With
 * sites, also the per-(root, stack) sums in o->sites, taken while each
 * block's header is in the cache (the at-exit table's top sites, a
 * snapshot's per-root sites). */
int rc_own_compute(struct rc_mark *m, struct rc_rootset *rs, struct rc_own *o, bool sites);
void rc_own_free(struct rc_own *o);

/* Per (retaining root, allocation stack) totals (struct rc_site_sum, above):
 * an open-addressing table, sized for `expect` entries at first, that grows
 * fourfold when an insertion would take it past half full. rc_site_add
 * returns the entry of (owner, stack), made (all zero but its key) if new;
 * NULL when the table cannot grow. The pointer is good until the next
 * rc_site_add that makes an entry (that one may move the table). */
struct rc_site_sum *rc_site_add(struct rc_site_tab *t, uint32_t owner, uint32_t stack);
int rc_site_tab_init(struct rc_site_tab *t, size_t expect);
void rc_site_tab_free(struct rc_site_tab *t);

/* ---- why (retain/why.c) ---- */
struct rc_why_step {
  bool is_root;          /* the first step: the root (rc_why.root) */
  uintptr_t addr;        /* block user address */
  uint64_t size;
  uint32_t stack;
  long offset;           /* offset of the pointer to the next step (last: of the address asked about) */
};
struct rc_why {
  uintptr_t addr;        /* the block asked about */
  uint64_t size;
  uint32_t stack;
  long offset;
  struct rc_root root;   /* copy: the rootset is gone at report time */
  struct rc_vec steps;   /* struct rc_why_step: root, blocks..., the block */
  uint64_t elided;       /* steps left out in the middle of a very long path */
  bool reachable;
  bool caller_only;      /* reachcheck_why: only the asking thread's references reach it */
};
/* reachcheck_why: the asking thread's own stack and register references to
 * the block are left out, unless nothing else reaches it. */
struct rc_why_skip { long tid; uint32_t slot; };
/* Shortest paths from the super-root (BFS) to the blocks whose slot bit is
 * set in want (nslots bits); fills up to max answers into out. */
int rc_why_paths(const struct rc_graph *g, const uint8_t *want, size_t max, struct rc_vec *out,
                 const struct rc_why_skip *skip);
void rc_why_text(struct rc_buf *b, const struct rc_why *w);
void rc_why_json(struct rc_buf *b, const struct rc_why *w);
void rc_why_free(struct rc_why *w);
/* At exit: which stack ids have a frame named why_site (before the check). */
uint8_t *rc_why_site_stacks(uint32_t *nstacks);

/* ---- retention in the at-exit report (retain/exit.c) ---- */
/* Hooks for the at-exit check, or NULL when no retention output was asked
 * for; then text and JSON for the report (the JSON report's extra). */
const struct rc_check_hooks *rc_retain_exit_hooks(bool keep);
/* keep: the owners and root set of the check stay after its after_mark
 * hook for the next hook in the chain (the at-exit profile), which gets
 * them here (NULL when retention was not computed or is incomplete) and
 * must call rc_retain_exit_release. */
const struct rc_own *rc_retain_exit_owners(const struct rc_rootset **rs);
void rc_retain_exit_release(void);
void rc_retain_exit_text(int fd);
void rc_retain_exit_json(struct rc_buf *b);   /* appends ,"retainers":[..],"why":[..] */
/* ---- snapshots (retain/snapshot.c) ---- */
int rc_snapshot_take(const char *tmpl, unsigned seq, char *path_out, size_t n);
void rc_snapshot_init(void);
void rc_snapshot_after_fork_child(void);   /* atfork child handler: a thread of its own */

#endif
