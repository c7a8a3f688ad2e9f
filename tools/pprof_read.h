/* Reading pprof profiles (gzip'ed profile.proto) for `reachcheck top` and
 * `reachcheck list`, from a file or a URL of the live endpoint (a plain
 * HTTP/1.0 GET). Offline tool code: uses malloc. Every malformed input is
 * one error line, never a crash. */
#ifndef RC_TOOLS_PPROF_READ_H
#define RC_TOOLS_PPROF_READ_H
#include <stddef.h>
#include <stdint.h>

struct pr_line { uint64_t function; int64_t line; };
struct pr_location { uint64_t id, mapping, address; struct pr_line *lines; size_t nlines; };
struct pr_function { uint64_t id; int64_t name, system_name, filename, start_line; };
struct pr_label { int64_t key, str, num; };
struct pr_sample { uint64_t *locs; size_t nlocs; int64_t *values; size_t nvalues; struct pr_label *labels; size_t nlabels; };
struct pr_type { int64_t type, unit; };

struct pr_profile {
  struct pr_type *types; size_t ntypes;
  struct pr_sample *samples; size_t nsamples;
  struct pr_location *locs; size_t nlocs;
  struct pr_function *funcs; size_t nfuncs;
  char **strs; size_t nstrs;
  int64_t default_type, time_nanos, duration_nanos;
  int64_t *comments; size_t ncomments;
};

/* Load FILE or http://HOST:PORT/PATH; 0, or -1 with one line in err. */
int pr_load(const char *src, struct pr_profile *p, char *err, size_t errlen);
void pr_free(struct pr_profile *p);
const char *pr_str(const struct pr_profile *p, int64_t i);
const struct pr_location *pr_loc(const struct pr_profile *p, uint64_t id);
const struct pr_function *pr_func(const struct pr_profile *p, uint64_t id);
/* Index of the sample type named name ("" or NULL: the default, else the
 * last, as pprof picks), or -1. */
int pr_type_index(const struct pr_profile *p, const char *name);
/* Fetch a URL (http only) into a malloc'd buffer; 0 or -1 with err. */
int pr_http_get(const char *url, char **body, size_t *len, char *err, size_t errlen);
#endif
