/* The scanners: where roots are in a glibc process (maps, globals, thread
 * stacks and registers, static and dynamic TLS), the thread registry and
 * stop-the-world, and the interposed thread and signal functions. Every
 * glibc layout fact they rely on is in scanners/glibc.h. Uses base/,
 * stack/ and heap/. */
#ifndef RC_SCANNERS_H
#define RC_SCANNERS_H
#include <signal.h>
#include "base/base.h"
#include "heap/heap.h"

enum rc_root_kind { RC_ROOT_GLOBAL, RC_ROOT_TLS, RC_ROOT_STACK, RC_ROOT_REGISTER, RC_ROOT_OTHER, RC_ROOT_MAPPING };
/* What a root range is, typed: consumers (retention's root names, the
 * check's statistics) switch on it and never parse a name. */
enum rc_root_part {
  RC_PART_SEGMENT,      /* a module's writable PT_LOAD segment (GLOBAL) */
  RC_PART_STATIC_TLS,   /* a thread's static TLS block and descriptor (TLS) */
  RC_PART_DTV,          /* a thread's DTV: [dtv[-1], dtv[n]] (TLS) */
  RC_PART_STACK,        /* a thread's stack, or the region its SP is in (STACK) */
  RC_PART_REGISTER,     /* one saved general register of a thread (REGISTER) */
  RC_PART_START_ARG,    /* the argument of a thread created but not started (OTHER) */
  RC_PART_MAPPING,      /* an anonymous writable mapping the program made (MAPPING) */
  RC_PART_REGION,       /* a region registered with __lsan_register_root_region (OTHER) */
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
struct rc_map { uintptr_t lo, hi; int prot; /* 1 r, 2 w, 4 x, RC_MAP_SHARED */ };
#define RC_MAP_SHARED 8   /* 's' in the permissions: a shared mapping */
/* m is a private mapping with every prot bit of want (1 readable, 2
 * writable): where a thread's descriptor, its DTV and its stack block live. */
static inline bool rc_map_private(const struct rc_map *m, int want)
{
  return m && (m->prot & (want | RC_MAP_SHARED)) == want;
}
int rc_maps_read(struct rc_vec *out);      /* sorted by address; 0, or -1 (nothing to free) */
/* The two ways rc_maps_read takes: the PROCMAP_QUERY ioctl (-1 where the
 * kernel has none, before Linux 6.11; -2 on another failure; nothing to
 * free either way), and the text. */
int rc_maps_read_query(struct rc_vec *out);
int rc_maps_read_text(struct rc_vec *out);
const struct rc_map *rc_maps_find(const struct rc_vec *maps, uintptr_t addr);
/* Calls fn on the runs of [a, b), a range of one private mapping, whose
 * pages are present or swapped out, skipping the pages never populated
 * (scanners/maps.c); false, with nothing called, when /proc/self/pagemap
 * cannot be read or unaligned=1: the caller then reads the whole range. */
bool rc_populated_runs(uintptr_t a, uintptr_t b, void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx);
/* The same by hand, for a pass that walks memory its own way: an fd on
 * /proc/self/pagemap (-1: none, unaligned=1, or a pagemap that does not
 * show the caller's own stack page present; the caller closes it), and
 * for the n pages from page (at most 512) a bit each in bits, set when the
 * page was ever populated; returns how many pages it read (0: cannot tell). */
int rc_pagemap_open(void);
size_t rc_pagemap_populated(int fd, uintptr_t page, size_t n, uint64_t *bits);
/* Report [a, b), a readable part of mapping m, as roots, skipping the pages
 * of a private mapping that were never populated (scanners/maps.c). */
void rc_root_piece(const struct rc_map *m, rc_root_fn fn, void *ctx, uintptr_t a, uintptr_t b,
                   const struct rc_root_range *r);
/* Clip [lo, hi) to readable mappings and report each piece (rc_root_piece). */
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
/* Is [lo, hi) (part of) a registered thread's stack? (scanners/threads.c) */
bool rc_threads_stack_overlaps(uintptr_t lo, uintptr_t hi);
/* Starts one of reachcheck's own threads (snapshots, --watch, the endpoint),
 * named and detached. It is born with every signal blocked but the stop
 * signal: until it could block them itself, a process-directed signal (the
 * program's, or the snapshot signal) might be delivered to it instead of to
 * the program's threads. fn must count itself internal (rc_in_runtime++)
 * before it allocates. 0, or an errno value. */
int rc_thread_spawn(const char *name, void *(*fn)(void *), void *arg);
/* A second core for work done while the world is stopped (the exit check's
 * retention pass beside its leak aggregation). rc_helper_start, before a
 * check stops the world: start the helper thread once (0), or -1 (one CPU
 * only, or no thread). With the world stopped, rc_helper_post hands it
 * fn(arg) and returns true, or returns false (no helper, or this is a forked
 * copy): then the caller runs fn itself. rc_helper_join waits for the job.
 * fn runs in the helper's stop handler: every signal blocked, memory from
 * rc_mmap only, nothing another thread of the check uses at the same time. */
int rc_helper_start(void);
bool rc_helper_post(void (*fn)(void *), void *arg);
void rc_helper_join(void);
bool rc_helper_self(void);   /* is this the helper thread? */

/* ---- signals reachcheck takes (scanners/signals.c) ---- */
typedef void (*rc_sig_fn)(int sig, siginfo_t *si, void *uc);
/* Take sig for fn: reachcheck's handler stays installed; the program's
 * sigaction/signal/sigset calls for sig are recorded and reported back, and
 * its handler runs after fn. 0, or -1 with errno. */
int rc_signal_take(int sig, rc_sig_fn fn);
/* A real-time signal nobody handles (not the stop signal), or 0. */
int rc_signal_free(void);
/* "SIGUSR2", "SIGRTMIN+3". */
void rc_signal_name(int sig, char *out, size_t n);
void rc_signals_after_fork_child(void);

/* ---- the exiting thread's stack (scanners/stackbound.c) ---- */
/* Stack pointer of the frame that called a check entry point on this
 * thread (0: none): a thread stopped inside reachcheck is scanned from it.
 * Set by the check (check/check.c), read by the stop handler. */
extern RC_TLS uintptr_t rc_api_sp;
void rc_stackbound_init(void);
/* Around the at-exit check: the exiting thread is scanned from where the
 * program called exit(), with its callee-saved registers there. */
int rc_stackbound_exit_begin(long tid);
void rc_stackbound_exit_end(void);
/* For the checking thread tid: NULL, or the callee-saved registers (rbx,
 * rbp, r12-r15) at exit()'s call with *sp moved to its caller's frame. */
const uintptr_t *rc_stackbound_self(long tid, uintptr_t *sp);

/* ---- mappings the program made itself (scanners/mappings.c) ---- */
void rc_mappings_init(void);
/* Every recorded anonymous writable mapping not a thread stack, clipped
 * to what is mapped read-write now. */
void rc_mappings_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx);
bool rc_mapping_info(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uint32_t *stack);

/* ---- registered root regions (scanners/regions.c) ---- */
/* __lsan_register_root_region's table: false when full or not found. */
bool rc_region_add(uintptr_t lo, uintptr_t hi);
bool rc_region_remove(uintptr_t lo, uintptr_t hi);
void rc_regions_enable(bool on);    /* LSAN_OPTIONS use_root_regions */
void rc_regions_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx);
#endif
