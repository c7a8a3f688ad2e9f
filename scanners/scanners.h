/* The scanners: where roots are in a glibc process (maps, globals, thread
 * stacks and registers, static and dynamic TLS), the thread registry and
 * stop-the-world, and the interposed thread and signal functions. Every
 * glibc layout fact they rely on is in scanners/glibc.h. Uses base/,
 * stack/ and heap/. */
#ifndef RC_SCANNERS_H
#define RC_SCANNERS_H
#include "base/base.h"
#include "heap/heap.h"

enum rc_root_kind { RC_ROOT_GLOBAL, RC_ROOT_TLS, RC_ROOT_STACK, RC_ROOT_REGISTER, RC_ROOT_OTHER };
/* What a root range is, typed: consumers (retention's root names, the
 * check's statistics) switch on it and never parse a name. */
enum rc_root_part {
  RC_PART_SEGMENT,      /* a module's writable PT_LOAD segment (GLOBAL) */
  RC_PART_STATIC_TLS,   /* a thread's static TLS block and descriptor (TLS) */
  RC_PART_DTV,          /* a thread's DTV: [dtv[-1], dtv[n]] (TLS) */
  RC_PART_STACK,        /* a thread's stack, or the region its SP is in (STACK) */
  RC_PART_REGISTER,     /* one saved general register of a thread (REGISTER) */
  RC_PART_START_ARG,    /* the argument of a thread created but not started (OTHER) */
};
struct rc_root_range {
  enum rc_root_kind kind;
  enum rc_root_part part;
  int reg;              /* RC_PART_REGISTER: its index in ucontext's gregs (REG_RIP, ...) */
  long thread;          /* tid; 0 for process-wide ranges */
  const char *module;   /* RC_PART_SEGMENT: the module's path; else NULL */
};
/* Called by root scanners for every range [lo, hi) to treat as a root. */
typedef void (*rc_root_fn)(void *ctx, uintptr_t lo, uintptr_t hi, const struct rc_root_range *r);
/* "rip", "r12", ...: a register's name, for the reader. */
const char *rc_reg_name(int reg);
/* Readable memory mappings at check time, from /proc/self/maps. */
struct rc_map { uintptr_t lo, hi; int prot; /* 1 r, 2 w, 4 x */ char name[64]; };
int rc_maps_read(struct rc_vec *out);      /* sorted by address */
const struct rc_map *rc_maps_find(const struct rc_vec *maps, uintptr_t addr);
/* Clip [lo, hi) to readable mappings and report each piece. */
void rc_root_clipped(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t lo, uintptr_t hi,
                     const struct rc_root_range *r);

void rc_globals_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx);
/* Thread registry and stop-the-world (scanners/threads.c). */
void rc_threads_init(void);
int rc_world_stop(void);                   /* returns number of threads stopped */
void rc_world_start(void);
void rc_threads_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx);
void rc_threads_after_fork_child(void);
void rc_threads_lock(void);
void rc_threads_unlock(void);
int rc_stop_signal(void);
/* Static TLS, DTV and thread descriptor of the thread whose thread pointer
 * is tp (scanners/tls.c). */
void rc_tls_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t tp, long tid, bool exited);
void rc_tls_init(void);
#endif
