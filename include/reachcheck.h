/* reachcheck public API: ask the leak checker from inside the program.
 *
 * Every function is a weak-safe no-op when the runtime is not loaded only if
 * you use the RC_* macros below; the functions themselves live in
 * libreachcheck.so (LD_PRELOAD by `reachcheck -- prog`, or linked directly). */
#ifndef REACHCHECK_H
#define REACHCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define REACHCHECK_API __attribute__((visibility("default")))

/* Result of a check. Bytes are requested sizes. */
struct reachcheck_result {
  uint64_t direct_blocks, direct_bytes;       /* leaked, not pointed to by another leak */
  uint64_t indirect_blocks, indirect_bytes;   /* leaked, pointed to by another leak */
  uint64_t reachable_blocks, reachable_bytes; /* still reachable from a root */
  uint64_t suppressed_blocks, suppressed_bytes;
  uint64_t ignored_blocks, ignored_bytes;     /* reachcheck_ignore()d or allocated while disabled */
};

/* 1 when libreachcheck is loaded and owns the heap, else 0. */
REACHCHECK_API int reachcheck_active(void);

/* Run a full check now (stops other threads for the mark phase). Fills *out
 * (may be NULL) and prints leaks on stderr when print != 0. Returns the
 * number of leaked blocks (direct + indirect, unsuppressed), or -1. */
REACHCHECK_API long reachcheck_check(struct reachcheck_result *out, int print);

/* Like reachcheck_check, but lists and counts only leaks not reported by an
 * earlier reachcheck_check_new call: usable in a loop or a daemon. */
REACHCHECK_API long reachcheck_check_new(struct reachcheck_result *out, int print);

/* The block containing p is never reported and is treated as a root. 0 on
 * success, -1 if p is not inside a live block. */
REACHCHECK_API int reachcheck_ignore(const void *p);

/* Blocks allocated by this thread between disable and enable are ignored
 * (nestable). For intentional leaks. */
REACHCHECK_API void reachcheck_disable(void);
REACHCHECK_API void reachcheck_enable(void);

/* ---- scopes (unit tests) ---- */
/* Start a leak scope: blocks allocated from now on, on any thread, belong to
 * it (and to every enclosing scope). Returns a token for scope_end. */
REACHCHECK_API uint32_t reachcheck_scope_begin(void);
/* Check now and count only blocks allocated since `token` that are leaked.
 * Fills *out (may be NULL); prints them when print != 0. Returns the number
 * of leaked blocks in the scope, or -1. */
REACHCHECK_API long reachcheck_scope_end(uint32_t token, struct reachcheck_result *out, int print);

/* 1 if the block containing p is reachable from a root now, 0 if it is
 * leaked, -1 if p is not inside a live block. Runs a full mark. */
REACHCHECK_API int reachcheck_is_reachable(const void *p);

/* ---- retention ---- */
/* Print on stderr the shortest path from a root to the block containing p:
 * the root's name, then each block on the way (size, offset of the pointer
 * in it, allocation site). If buf != NULL, also writes the path as one JSON
 * object into buf (NUL-terminated, truncated to len). Returns the number of
 * blocks on the path (>= 1), 0 if the block is unreachable, -1 if p is not
 * inside a live block. */
REACHCHECK_API int reachcheck_why(const void *p, char *buf, size_t len);

/* Write a heap snapshot (live blocks by allocation site, retained sizes by
 * root) as JSON to path (%p: pid). The marking runs in a forked copy; the
 * program is stopped only for the fork. Returns 0, or -1 with errno set. */
REACHCHECK_API int reachcheck_snapshot(const char *path);

#ifdef __cplusplus
}
#endif
#endif
