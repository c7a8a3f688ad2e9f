/* Writing google/pprof's profile.proto: a growable byte buffer, a profile
 * builder (string table, mappings, functions and locations deduplicated)
 * and its protobuf encoding, gzip'ed with zlib. Used by the runtime (heap
 * and thread profiles, the live endpoint) and by the offline tools
 * (`reachcheck pprof`), so it only uses rc_mmap memory: the runtime must
 * not allocate from the heap it checks. The encoder is hand-written for the
 * same reason (protobuf-c mallocs), and because the runtime needs only the
 * writing half of 6 small messages. */
#ifndef RC_PROFILE_PPROF_H
#define RC_PROFILE_PPROF_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes in their own mapping, grown with mremap; oom set on failure (the
 * content is then incomplete and callers report it). */
struct rc_mbuf { char *d; size_t len, cap; bool oom; };
void rc_mbuf_put(struct rc_mbuf *b, const void *p, size_t n);
void rc_mbuf_printf(struct rc_mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rc_mbuf_vprintf(struct rc_mbuf *b, const char *fmt, va_list ap);
void rc_mbuf_free(struct rc_mbuf *b);
static inline void rc_mbuf_reset(struct rc_mbuf *b) { b->len = 0; }

/* Sample types of every heap profile reachcheck writes, in this order. */
enum { RC_PP_ALLOC_OBJECTS, RC_PP_ALLOC_SPACE, RC_PP_INUSE_OBJECTS, RC_PP_INUSE_SPACE, RC_PP_LEAKED_OBJECTS,
       RC_PP_LEAKED_SPACE, RC_PP_TEMP_OBJECTS, RC_PP_PEAK_OBJECTS, RC_PP_PEAK_SPACE, RC_PP_NVALUES };
extern const char *const rc_pp_value_names[RC_PP_NVALUES][2];   /* {type, unit} */

struct rc_pp_label { const char *key, *str; int64_t num; };   /* str NULL: a number */

struct rc_pp;   /* a profile being built */
struct rc_pp *rc_pp_new(void);
void rc_pp_free(struct rc_pp *p);
bool rc_pp_failed(const struct rc_pp *p);   /* out of memory somewhere */
/* Index of s in the string table (added once). */
int64_t rc_pp_string(struct rc_pp *p, const char *s);
/* Sample types (type, unit pairs) and the default one. */
void rc_pp_sample_types(struct rc_pp *p, const char *const (*types)[2], int n, const char *default_type);
void rc_pp_period(struct rc_pp *p, const char *type, const char *unit, int64_t period);
void rc_pp_times(struct rc_pp *p, int64_t time_nanos, int64_t duration_nanos);
void rc_pp_comment(struct rc_pp *p, const char *text);
/* A mapping; the same (filename, start) gives the same id. */
uint64_t rc_pp_mapping(struct rc_pp *p, uint64_t start, uint64_t limit, uint64_t offset, const char *file,
                       const char *build_id, bool symbolized);
/* A function by (name, file); the same pair gives the same id. */
uint64_t rc_pp_function(struct rc_pp *p, const char *name, const char *system_name, const char *file, int64_t start_line);
/* The location with this key (0: always new), or 0 if not added yet. */
uint64_t rc_pp_location_find(struct rc_pp *p, uint64_t key);
/* A location: lines[0] the innermost inlined function, the last its caller. */
struct rc_pp_line { uint64_t function; int64_t line; };
uint64_t rc_pp_location(struct rc_pp *p, uint64_t key, uint64_t mapping, uint64_t address,
                        const struct rc_pp_line *lines, int nlines);
/* A sample: locs[0] is the leaf; nvalues must match the sample types. */
void rc_pp_sample(struct rc_pp *p, const uint64_t *locs, int nlocs, const int64_t *values, int nvalues,
                  const struct rc_pp_label *labels, int nlabels);
/* The encoded Profile message (not compressed) into out. */
void rc_pp_encode(struct rc_pp *p, struct rc_mbuf *out);
/* Loads zlib once (thread-safe; dlopen'ed on first use, not linked: see
 * pprof_write.c). False when libz.so.1 cannot be loaded. Not
 * async-signal-safe; not in a check's forked child. */
bool rc_pp_zlib_load(void);
/* gzip (zlib, memory from rc_mmap) of in into out; 0 or -1. */
int rc_pp_gzip(const void *in, size_t n, struct rc_mbuf *out);
/* gunzip: 0, or -1 with a reason in err. limit: most bytes out. */
int rc_pp_gunzip(const void *in, size_t n, struct rc_mbuf *out, size_t limit, char *err, size_t errlen);

/* The GNU build id of the ELF file at path as hex, and the span of its
 * PT_LOAD segments (lowest vaddr, highest end, offset of the lowest);
 * false if the file cannot be read as ELF. */
struct rc_elf_span { uint64_t vlo, vhi, off; char build_id[80]; };
bool rc_pp_elf_info(const char *path, struct rc_elf_span *out);

/* Write bytes to path through a temporary file renamed over it (%p: pid);
 * 0, or -1 with errno. */
int rc_pp_write_file(const char *path, const void *d, size_t n);
#endif
