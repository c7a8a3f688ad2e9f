/* Internal interfaces of the reachcheck runtime: heap, stack depot, roots,
 * mark phase and reports. Nothing here is public; see include/reachcheck.h. */
#ifndef RC_INTERNAL_H
#define RC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <gc/gc.h>

#define RC_HIDDEN __attribute__((visibility("hidden")))
#define RC_LIKELY(x) __builtin_expect(!!(x), 1)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_TLS __thread __attribute__((tls_model("initial-exec")))
#define RC_MAX_FRAMES 64

/* ---- options (core/options.c) ---- */
struct rc_options {
#define RC_OPTION(type, name, def, help) RC_OPT_##type name;
#define RC_OPT_BOOL int
#define RC_OPT_INT long
#define RC_OPT_STR const char *
#include "options.inc"
#undef RC_OPTION
};
extern struct rc_options rc_opt;
/* Parse "k=v:k=v" into rc_opt. On error writes one line naming the key to
 * errbuf and returns -1. Strings are copied into static storage. */
int rc_options_parse(const char *s, char *errbuf, size_t errlen);
/* Is `name` a known option key? (the option fuzzer and its sanitizer test) */
int rc_option_known(const char *name, size_t len);
void rc_options_help(int fd);
void rc_options_markdown(int fd);
void rc_options_man(int fd, const char *version);
/* ---- output without the checked heap (core/log.c) ---- */
struct rc_buf { int fd; size_t len; char data[4096]; };
void rc_buf_init(struct rc_buf *b, int fd);
void rc_buf_put(struct rc_buf *b, const char *s, size_t n);
void rc_buf_printf(struct rc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rc_buf_json_str(struct rc_buf *b, const char *s);
void rc_buf_flush(struct rc_buf *b);
/* stderr as it was at start-up: programs that close fd 2 at exit (GNU
 * coreutils' close_stdout) still get their report. */
extern int rc_err_fd;
void rc_err_fd_init(void);
void rc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void rc_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Milliseconds of monotonic time. */
double rc_now_ms(void);

/* ---- internal memory: mmap-backed, never the checked heap (core/imem.c) ---- */
void *rc_mmap(size_t bytes);             /* zeroed; NULL on failure */
void rc_munmap(void *p, size_t bytes);
/* A growable array in its own mapping (reserve once, commit lazily). */
struct rc_vec { char *data; size_t len, cap, elem; };
void rc_vec_init(struct rc_vec *v, size_t elem);
void *rc_vec_push(struct rc_vec *v);     /* pointer to a new zeroed slot, NULL if out of memory */
void rc_vec_free(struct rc_vec *v);
char *rc_strdup_internal(const char *s); /* from a never-freed internal pool */

/* ---- the tracked heap (core/heap.c) ---- */
enum rc_state { RC_FREED = 0x5, RC_LIVE = 0xA };
enum rc_flags {
  RC_F_IGNORED = 1,   /* reachcheck_ignore(): a root, never reported */
  RC_F_INTERNAL = 2,  /* allocated by reachcheck or its libraries: invisible */
  RC_F_LDSO = 4,      /* allocated by ld.so for itself: a root */
  RC_F_REPORTED = 8,  /* already reported as leaked by an earlier check */
};
/* 16 bytes in front of every user block, at the Boehm object base. Word 0 is
 * overwritten by GC_free's free-list link, so the state lives in word 1. */
struct rc_hdr {
  uint32_t slot;      /* index in rc_slots */
  uint32_t stack;     /* stack depot id */
  uint64_t bits;      /* size:36 | tag:12 | pad16:8 | flags:4 | state:4 */
};
#define RC_HDR_SIZE 16u
#define RC_SIZE_BITS 36
#define RC_MAX_SIZE ((1ull << RC_SIZE_BITS) - 1)   /* 64 GiB - 1 per block */
#define RC_PAD_ESC 0xffu                           /* pad in word 2 */
#define RC_TAG_MASK (0xfffull << 16)
static inline uint64_t rc_hdr_size(const struct rc_hdr *h) { return h->bits >> 28; }
static inline unsigned rc_hdr_pad16(const struct rc_hdr *h) { return (unsigned)(h->bits >> 8) & 0xff; }
static inline unsigned rc_hdr_flags(const struct rc_hdr *h) { return (unsigned)(h->bits >> 4) & 0xf; }
static inline unsigned rc_hdr_state(const struct rc_hdr *h) { return (unsigned)h->bits & 0xf; }
/* The tag is left 0: set_bits computes it. */
static inline uint64_t rc_hdr_pack(uint64_t size, unsigned pad16, unsigned flags, unsigned state)
{ return (size << 28) | ((uint64_t)(pad16 & 0xff) << 8) | ((uint64_t)(flags & 0xf) << 4) | (state & 0xf); }
/* Where the user data starts. Pads of RC_PAD_ESC*16 and more are stored in word 2. */
static inline char *rc_hdr_user(const struct rc_hdr *h)
{
  unsigned p = rc_hdr_pad16(h);
  if (RC_UNLIKELY(p == RC_PAD_ESC)) return (char *)h + ((const uint64_t *)h)[2];
  return (char *)h + (size_t)p * 16;
}
/* A 12-bit hash over the header's other fields and its address, kept in the
 * header: a buffer overflow that rewrites the header no longer matches it. */
static inline uint64_t rc_hdr_tag(const struct rc_hdr *h, uint64_t bits)
{
  uint64_t x = (bits & ~RC_TAG_MASK) ^ ((uint64_t)h->stack << 32 | h->slot) ^ (uintptr_t)h;
  x *= 0x9e3779b97f4a7c15ull;
  return (x >> 52) << 16;
}
/* Does the header still match its tag? */
static inline bool rc_hdr_intact(const struct rc_hdr *h, uint64_t bits)
{ return (bits & RC_TAG_MASK) == rc_hdr_tag(h, bits); }

/* Slot table: slot -> header, so a check enumerates live blocks linearly, and
 * a header is ours only if its slot's entry points back at it. An entry is 32
 * bits: a window of 16 MiB of address space (12 bits, numbered on first use,
 * so the heap may lie anywhere but span at most 4095 windows) and the
 * 16-byte granule in it (20 bits); 0 is empty. */
extern uint32_t *rc_slots;
extern uintptr_t rc_win_base[4096];
#define RC_WIN_SHIFT 24
static inline struct rc_hdr *rc_slot_decode(uint32_t e)
{ return e ? (struct rc_hdr *)(rc_win_base[e >> 20] + ((uintptr_t)(e & 0xfffff) << 4)) : NULL; }
/* Slabs. Blocks up to 2 KiB (with their header) live in 64 KiB Boehm
 * objects of one size class each, so Boehm keeps one heap-block header per
 * 64 KiB instead of one per 4 KiB page. A slab owns a range of slots, one per
 * object, so an object's slot is its position and needs no entry in
 * rc_slots. Slots are handed out in groups of 32: rc_slot_slab says which
 * group belongs to which slab (0: slots of single blocks), rc_page_slab which
 * 4 KiB page does (by window and page in it). Objects are carved in address
 * order; past `carved` a slab's memory holds no header yet. Slabs are never
 * freed. */
#define RC_SLAB_BYTES (64u << 10)
#define RC_SLOT_GROUP 32u
struct rc_slab {
  uintptr_t base;      /* the first object's header */
  uint32_t first;      /* its slot */
  uint32_t carved;     /* objects with a header */
  uint32_t recip;      /* 2^32 / size + 1: offset -> object index without a division */
  uint16_t size;       /* bytes per object, header included */
  uint16_t nobj;
};
extern struct rc_slab *rc_slabs;   /* by id; id 0 is none */
extern uint32_t *rc_slot_slab;     /* slot / RC_SLOT_GROUP -> slab id */
extern uint32_t *rc_page_slab;     /* window << 12 | page in window -> slab id */
extern uint16_t *rc_win_of;        /* address >> RC_WIN_SHIFT -> window number, 0: none */

static inline const struct rc_slab *rc_slab_of_slot(uint32_t i)
{
  uint32_t id = __atomic_load_n(&rc_slot_slab[i / RC_SLOT_GROUP], __ATOMIC_ACQUIRE);
  return id ? &rc_slabs[id] : NULL;
}
/* Index of address a's 4 KiB page in tables by (window w, page in it). */
static inline size_t rc_page_index(uint32_t w, uintptr_t a)
{ return (size_t)w << (RC_WIN_SHIFT - 12) | ((a >> 12) & ((1u << (RC_WIN_SHIFT - 12)) - 1)); }
/* The slab whose pages hold address a, or NULL. */
static inline const struct rc_slab *rc_slab_at(uintptr_t a)
{
  if (RC_UNLIKELY(a >> 47)) return NULL;
  uint32_t w = __atomic_load_n(&rc_win_of[a >> RC_WIN_SHIFT], __ATOMIC_RELAXED);
  if (!w) return NULL;
  uint32_t id = __atomic_load_n(&rc_page_slab[rc_page_index(w, a)], __ATOMIC_ACQUIRE);
  return id ? &rc_slabs[id] : NULL;
}
/* Index of the object of slab s that holds address a (a in its pages). */
static inline uint32_t rc_slab_index(const struct rc_slab *s, uintptr_t a)
{ return (uint32_t)(((uint64_t)(a - s->base) * s->recip) >> 32); }
/* Header of slab object k, NULL if it was never carved. */
static inline struct rc_hdr *rc_slab_obj(const struct rc_slab *s, uint32_t k)
{
  if (k >= __atomic_load_n(&s->carved, __ATOMIC_ACQUIRE)) return NULL;
  return (struct rc_hdr *)(s->base + (uintptr_t)k * s->size);
}
/* Header in slot i if there is one (tag not checked), else NULL. */
static inline struct rc_hdr *rc_slot_hdr(uint32_t i)
{
  const struct rc_slab *s = rc_slab_of_slot(i);
  if (s) return rc_slab_obj(s, i - s->first);
  return rc_slot_decode(__atomic_load_n(&rc_slots[i], __ATOMIC_ACQUIRE));
}
/* Where the header of a block holding address a would be, if a is in the
 * tracked heap: the slab object's, or the base of Boehm's object. NULL when
 * neither (not validated: see rc_block_of). */
static inline struct rc_hdr *rc_hdr_near(uintptr_t a)
{
  const struct rc_slab *s = rc_slab_at(a);
  if (s) return rc_slab_obj(s, rc_slab_index(s, a));
  return GC_base((void *)a);
}
extern uint64_t rc_corrupt_seen;   /* blocks found with a rewritten header */
extern uint32_t rc_slot_hwm;
extern uintptr_t rc_heap_lo, rc_heap_hi;  /* bounds of every block ever served */

/* Header of the live, valid block whose user range contains `word`
 * ([user, user+size), or user itself for size 0), or NULL. No locks, no
 * allocation: usable with the world stopped. */
struct rc_hdr *rc_block_of(uintptr_t word);
/* Header of a live block whose user pointer is exactly p, else NULL. */
struct rc_hdr *rc_block_exact(const void *p);
void rc_heap_init(void);
bool rc_heap_ready(void);
/* Recursion guard: while >0 this thread is inside reachcheck; its
 * allocations are served as RC_F_INTERNAL blocks. */
extern RC_TLS int rc_in_runtime;
extern RC_TLS int rc_disabled;     /* reachcheck_disable(): new blocks are ignored */
extern int rc_world_stopped;
/* Take/drop every heap lock (slot pool) around stop-the-world and fork. */
void rc_heap_lock_all(void);
void rc_heap_unlock_all(void);
/* Boehm's allocator lock, around stop-the-world only (never across fork).
 * While it is held this thread must not allocate from Boehm. */
void rc_heap_lock_gc(void);
void rc_heap_unlock_gc(void);
void rc_heap_thread_exit(void);   /* flush this thread's cache */
void rc_heap_after_fork_child(void);
void rc_heap_set_flag(struct rc_hdr *h, unsigned flag, bool on);

/* ---- stack depot (core/depot.c) ---- */
struct rc_stack { uint32_t hash, depth, gen, next; uintptr_t pc[]; };
/* Where the program called into reachcheck: the frame pointer of the
 * function it called (RC_AT_HERE(at) there, which then keeps one). fp[0]
 * is the caller's rbp, fp[1] the return address into the caller, fp + 2
 * the caller's stack pointer. */
struct rc_at { const uintptr_t *fp; };
#define RC_AT_HERE(at) const struct rc_at at = {__builtin_frame_address(0)}
/* The stack from the caller recorded in at -> id (0 = none); the runtime's
 * own frames are never walked. */
uint32_t rc_depot_capture(const struct rc_at *at);
const struct rc_stack *rc_depot_get(uint32_t id);
uint32_t rc_depot_count(void);
void rc_depot_lock(void);
void rc_depot_unlock(void);

/* ---- modules and symbols (scanners/modules.c, scanners/symbolize.c) ---- */
struct rc_frame_info {
  uintptr_t pc;
  const char *module;      /* path, never NULL ("?" if unknown) */
  uintptr_t offset;        /* pc - module load bias */
  char function[256];      /* demangled, "" if unknown */
  const char *file;        /* NULL if unknown */
  int line;
};
void rc_modules_refresh(void);             /* dl_iterate_phdr; call after dlopen/dlclose */
/* Module containing pc for a stack captured in depot generation gen. */
bool rc_module_lookup(uintptr_t pc, uint32_t gen, const char **path, uintptr_t *bias);
void rc_symbolize(uintptr_t pc, uint32_t gen, struct rc_frame_info *out);
uint32_t rc_modules_generation(void);
void rc_modules_lock(void);               /* held across fork */
void rc_modules_unlock(void);

/* ---- roots (scanners/) ---- */
enum rc_root_kind { RC_ROOT_GLOBAL, RC_ROOT_TLS, RC_ROOT_STACK, RC_ROOT_REGISTER, RC_ROOT_OTHER, RC_ROOT_MAPPING };
/* Called by root scanners for every range to treat as a root. `what` names
 * the range (module path, "thread 1234 stack", ...). */
typedef void (*rc_root_fn)(void *ctx, uintptr_t lo, uintptr_t hi, enum rc_root_kind kind,
                           const char *what, long thread);
/* Readable memory mappings at check time, from /proc/self/maps. */
struct rc_map { uintptr_t lo, hi; int prot; /* 1 r, 2 w, 4 x */ char name[64]; };
int rc_maps_read(struct rc_vec *out);      /* sorted by address */
const struct rc_map *rc_maps_find(const struct rc_vec *maps, uintptr_t addr);
/* Clip [lo, hi) to readable mappings and report each piece. */
void rc_root_clipped(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t lo,
                     uintptr_t hi, enum rc_root_kind kind, const char *what, long thread);

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
/* Is pc inside ld.so? (allocations made by ld.so for itself are roots) */
bool rc_pc_in_ldso(uintptr_t pc);
void rc_ldso_init(void);

/* ---- precision and compatibility (core/stackbound.c, core/mappings.c,
 * core/compat_lsan.c, core/compat_gperf.c) ---- */
/* Stack pointer of the frame that called a check entry point on this
 * thread (0: none): a thread stopped inside reachcheck is scanned from it. */
extern RC_TLS uintptr_t rc_api_sp;
void rc_stackbound_init(void);
int rc_stackbound_exit_begin(long tid);
void rc_stackbound_exit_end(void);
const uintptr_t *rc_stackbound_self(long tid, uintptr_t *sp);
/* Anonymous mappings the program made itself (mmap), as roots. */
void rc_mappings_init(void);
void rc_compat_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx);
bool rc_mapping_info(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uint32_t *stack);
/* Is [lo, hi) (part of) a registered thread's stack? (scanners/threads.c) */
bool rc_threads_stack_overlaps(uintptr_t lo, uintptr_t hi);
/* LSAN_OPTIONS, __lsan_default_options, HEAPCHECK: applied before
 * REACHCHECK_OPTIONS, which wins. One line in err and -1 on bad input. */
int rc_compat_options(char *err, size_t errlen);
/* After REACHCHECK_OPTIONS: default suppressions, log_path. */
int rc_compat_after_options(char *err, size_t errlen);
/* The end-of-process check (at exit, or from __lsan_do_leak_check): skipped
 * (__lsan_is_turned_off, it already ran, leak_check_at_exit=0, HEAPCHECK);
 * the request's mode and epoch (HEAPCHECK). */
void rc_final_check(bool at_exit);
bool rc_compat_skip_final(bool at_exit);
int rc_suppress_add_text(const char *text, const char *name, char *err, size_t errlen);
struct rc_check_req;
void rc_compat_exit_req(struct rc_check_req *req);
void rc_compat_exit_done(void);
/* report_objects=1: addresses of leaked blocks, noted while collecting. */
void rc_objects_reset(void);
void rc_objects_note(const struct rc_hdr *h, int kind);
void rc_objects_print(struct rc_buf *b, uint32_t stack, int kind);

/* ---- the check (core/check.c, core/mark.c) ---- */
enum { RC_KIND_DIRECT, RC_KIND_INDIRECT, RC_KIND_REACHABLE };
struct rc_leak_group {
  uint32_t stack;
  int kind;                 /* RC_KIND_* */
  uint64_t blocks, bytes;
  bool suppressed;
  const char *suppressed_by;
  bool is_new;              /* not reported by an earlier check */
};
struct rc_result {
  uint64_t direct_blocks, direct_bytes, indirect_blocks, indirect_bytes;
  uint64_t reachable_blocks, reachable_bytes;
  uint64_t suppressed_blocks, suppressed_bytes;
  uint64_t ignored_blocks, ignored_bytes;
  uint64_t corrupt_blocks;   /* headers overwritten (buffer overflow): not analysed */
  uint32_t threads, roots;
  double ms_stop, ms_mark, ms_total;
  pid_t child;
  struct rc_vec groups;     /* struct rc_leak_group, sorted by bytes */
};
enum { RC_CHECK_AT_EXIT = 1, RC_CHECK_ONLY_NEW = 2, RC_CHECK_FORK = 4, RC_CHECK_NO_GROUPS = 8,
       RC_CHECK_ALL_LIVE = 16 /* every live block not ignored is a leak (HEAPCHECK=draconian) */ };
struct rc_mark;
/* Extension points of a check, all called with the world stopped (or in the
 * forked copy for RC_CHECK_FORK): no locks, no allocation from the heap. */
struct rc_check_hooks {
  void *ctx;
  /* every root range, before it is marked */
  void (*root)(void *ctx, uintptr_t lo, uintptr_t hi, enum rc_root_kind kind, const char *what, long thread);
  /* after marking and classification, before leaks are aggregated */
  void (*after_mark)(void *ctx, struct rc_mark *m);
  /* RC_CHECK_FORK only: in the child, after collect; the child then _exits */
  void (*in_child)(void *ctx, struct rc_result *res);
};
struct rc_check_req {
  int mode;
  uint32_t min_epoch;      /* only blocks allocated at or after this epoch are leaks */
  const struct rc_check_hooks *hooks;
};
/* Run a check. With RC_CHECK_FORK the marking runs in a forked copy taken
 * while the threads are stopped; the caller gets the child's pid in
 * res->child and the world resumes as soon as the fork returns. */
int rc_check_run(const struct rc_check_req *req, struct rc_result *res);
int rc_check(struct rc_result *res, int mode);
/* Allocation epochs: scopes and snapshots compare them. */
extern uint32_t rc_epoch;
extern uint32_t *rc_slot_epoch;
uint32_t rc_epoch_advance(void);
void rc_result_free(struct rc_result *res);
void rc_report_text(int fd, const struct rc_result *res);
int rc_report_json(const char *path_template, const struct rc_result *res);

/* Suppressions (core/suppress.c). Returns the matching pattern or NULL. */
int rc_suppress_load(const char *path, char *err, size_t errlen);
const char *rc_suppress_match(uint32_t stack);

/* Bad frees and friends (core/heap.c): one line + stack, or abort. */
void rc_report_bad(const char *what, const void *p, uint32_t stack);
void rc_print_stack(struct rc_buf *b, uint32_t stack, const char *indent);

/* ---- extension points: weak defaults in core/init.c ---- */
/* Retention (core/retain.c): hooks for the at-exit check, or NULL when no
 * retention output was asked for; then text and JSON for the report. */
const struct rc_check_hooks *rc_retain_exit_hooks(void);
void rc_retain_exit_text(int fd);
void rc_retain_exit_json(struct rc_buf *b);   /* appends ,"retainers":[..],"why":[..] */
void rc_retain_init(void);                    /* constructor: snapshot signal etc. */
/* SARIF (core/sarif.c): write rc_opt.sarif if set. */
void rc_sarif_exit(const struct rc_result *r);
int rc_expand_path(const char *tmpl, char *out, size_t n);
void rc_json_write(int fd, const struct rc_result *r);
void rc_json_frame(struct rc_buf *b, const struct rc_frame_info *fi);  /* one stack frame object */
bool rc_pattern_match(const char *pat, const char *s);

#endif
