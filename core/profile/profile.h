/* Heap profiles of the running program (issue 13): what is captured
 * (core/profile/collect.c), how it becomes a pprof profile
 * (core/profile/heap_profile.c) and the live endpoint (core/profile/http.c).
 * Runtime side: memory from rc_mmap only. */
#ifndef RC_PROFILE_PROFILE_H
#define RC_PROFILE_PROFILE_H
#include "retain/retain.h"
#include "stack/counters.h"
#include "base/pprof.h"

/* Live blocks of one allocation stack that share a state and a root. */
enum { RC_OWNER_LEAKED = 0, RC_OWNER_SHARED = 1, RC_OWNER_ROOT0 = 2 };
struct rc_prof_ent { uint32_t stack, owner; uint64_t blocks, bytes; };   /* owner: RC_OWNER_* or ROOT0 + root index */
/* A root as the check saw it; sym copied (a forked copy's symbol cache is
 * not the program's). */
struct rc_prof_root { struct rc_root root; char sym[256]; };

struct rc_prof {
  bool checked;             /* a reachability check ran: ents and roots are filled */
  bool complete;            /* the check's retention analysis had the memory it needed */
  uint32_t nstacks;         /* counts[0..nstacks) */
  struct rc_count *counts;  /* allocation counters at the moment of the profile */
  struct rc_vec ents;       /* struct rc_prof_ent (checked only) */
  struct rc_vec roots;      /* struct rc_prof_root (checked only) */
  int64_t time_ns;          /* CLOCK_REALTIME when taken */
  double ms;                /* threads stopped (checked) */
};
void rc_prof_free(struct rc_prof *p);
/* Counters only (no check): in-use is allocations minus frees. 0 or -1. */
int rc_prof_counters(struct rc_prof *p);
/* A reachability check in a forked copy (the program pauses for the fork
 * only); the copy sends what it found through a pipe. 0, or -1 with a
 * reason in err. */
int rc_prof_checked(struct rc_prof *p, char *err, size_t errlen);

/* Which profile: sets the default sample type. */
enum rc_prof_kind { RC_PROF_HEAP, RC_PROF_ALLOCS, RC_PROF_LEAKS };
/* The gzip'ed profile.proto of p (base: subtract it, for ?seconds=N; its
 * time to p's is the duration). 0, or -1 when out of memory. */
int rc_prof_pprof(const struct rc_prof *p, const struct rc_prof *base, enum rc_prof_kind kind, struct rc_mbuf *out);
/* The same as text (?debug=1). */
void rc_prof_text(const struct rc_prof *p, const struct rc_prof *base, enum rc_prof_kind kind, struct rc_mbuf *out);
/* The label a root gets ("global history (config_reload)"). */
void rc_prof_root_name(const struct rc_prof *p, uint32_t owner, char *out, size_t n);

/* Symbolized pprof locations of raw pcs (leaf first) into locs; mappings
 * with build ids. first_exact: pcs[0] is an interrupted pc, not a return
 * address. */
struct rc_locctx {
  struct rc_pp *pp;
  struct { const char *path; uintptr_t bias; uint64_t id; } maps[256];
  int nmaps;
};
int rc_prof_locations(struct rc_locctx *lc, const uintptr_t *pcs, int n, uint32_t gen, bool first_exact, uint64_t *locs);
/* pc's frame and the frames inlined into it (scanners/symbolize.c):
 * out[0] the innermost inlined function at the pc's line, out[n - 1] the
 * function the code is in, each with the line in it; returns n >= 1. */

/* The comments every profile carries: version, command line, pid. */
void rc_prof_comments(struct rc_pp *pp);

/* Pages of the endpoint besides the heap profiles (core/profile/http_pages.c):
 * each returns the HTTP status and fills out with the body (or, for an
 * error, one line saying what is wrong) and *ctype. */
int rc_page_threads(const char *query, struct rc_mbuf *out, const char **ctype);
int rc_page_symbol(bool post, const char *body, size_t n, struct rc_mbuf *out, const char **ctype);
int rc_page_why(const char *query, struct rc_mbuf *out, const char **ctype);
bool rc_query_get(const char *q, const char *key, char *out, size_t n);
long rc_query_num(const char *q, const char *key, long max);

/* At exit (core/init.c): hooks that chain the retention hooks with the
 * profile's own when pprof= is set (and stop the endpoint); then write. */
const struct rc_check_hooks *rc_profile_exit_hooks(const struct rc_check_hooks *inner);
void rc_profile_exit_write(bool checked);

/* The endpoint (core/profile/http.c): started by the constructor when
 * http= is set; stopped before the at-exit check. */
void rc_http_start(void);
void rc_http_after_fork_child(void);   /* atfork child handler: its own endpoint when per process */
void rc_http_stop(void);
#endif
