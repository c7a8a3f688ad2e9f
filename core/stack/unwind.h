/* Fast x86-64 unwinder for allocation stacks (stack/unwind.c): a lock-free
 * cache of per-return-address CFA rules, filled from .eh_frame_hdr. */
#ifndef RC_UNWIND_H
#define RC_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* Return addresses of the caller's stack: pcs[0] is the pc in the caller of
 * rc_unwind itself, after `skip` frames are dropped; at most `max` entries.
 * Returns the count (stopping at the outermost frame), or -1 when some frame
 * needs the general unwinder (signal frames, CFA expressions, no unwind info,
 * a stack it does not know): the caller then uses libunwind for the whole
 * capture. Never allocates; the cache hit path takes no lock. */
int rc_unwind(uintptr_t *pcs, int max, int skip);
/* The same from a given frame: pc is its return address into it (pcs[0]),
 * sp the stack pointer there (the CFA of its callee), rbp its rbp. */
int rc_unwind_at(uintptr_t *pcs, int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp);

/* For the depot (stack/depot.c), before any walk: when this thread walked
 * the same whole stack from pc, sp and rbp before (max frames asked) and
 * rc_unwind_keep gave it a depot id of stack generation sgen, that id; else
 * 0 (then the depot walks with rc_unwind_at). No walk, no copy: the check
 * reads the stack words that walk read. */
uint32_t rc_unwind_hit(int max, uintptr_t pc, uintptr_t sp, uintptr_t rbp, uint32_t sgen);
/* The depot's id for the stack rc_unwind_at just walked from pc and sp (max
 * frames asked, stack generation sgen): kept if the walk can be recognised
 * again. */
void rc_unwind_keep(int max, uintptr_t pc, uintptr_t sp, uint32_t sgen, uint32_t id);

/* The calling thread is exiting: its kept stacks (rc_unwind_keep) go to a
 * free list for the next thread, and it keeps no more. */
void rc_unwind_thread_exit(void);

/* A module was unloaded: a new one may be mapped at the same addresses, so
 * every cached rule is dropped. Call after the real dlclose returns. */
void rc_unwind_flush(void);

/* Before any call into libunwind (stack/unwind_verify.c): its caching
 * policy, set at the first call. */
void rc_unw_prepare(void);

/* The top of the calling thread's stack that holds sp (its descriptor, or
 * __libc_stack_end for the main thread), or 0 when sp lies in neither
 * (sigaltstack, a coroutine's stack): the bound every walk reads below. */
uintptr_t rc_stack_top(uintptr_t sp);

/* The whole unwind row at code address `at` (a return address minus one, or
 * an exact pc), read from the module's .eh_frame_hdr now (dl_iterate_phdr;
 * not cached): the CFA as rsp or rbp plus cfa_off, and how the caller's
 * rbx, rbp, r12, r13, r14, r15 and return address are found (in that
 * order): unchanged, undefined, at CFA + off, or otherwise (a register or
 * an expression); and the function's code the FDE covers. false when no module holds `at`, it has no FDE, the FDE
 * is a signal frame's or uses what the interpreter does not follow, or the
 * CFA is not rsp or rbp based: scanners/stackbound.c then asks libunwind. */
enum { RC_CFI_SAME, RC_CFI_UNDEF, RC_CFI_OFFSET, RC_CFI_OTHER };
#define RC_CFI_NREGS 7
struct rc_cfi_row {
  bool cfa_rbp;
  int64_t cfa_off;
  uint8_t how[RC_CFI_NREGS];
  int64_t off[RC_CFI_NREGS];
  uintptr_t fn_lo, fn_hi;   /* the code the row's FDE covers: [fn_lo, fn_hi), its function */
};
bool rc_cfi_row(uintptr_t at, struct rc_cfi_row *out);

/* For tests: the rule used for return address pc, read from the unwind
 * tables now (not cached). Returns 1 with CFA = (*cfa_rbp ? rbp : rsp) +
 * *cfa_off and rbp saved at CFA - 8 * *rbp_slot (0: not saved), 0 for the
 * outermost frame, -1 for a frame left to libunwind. */
int rc_unwind_rule_test(uintptr_t pc, int *cfa_rbp, int *cfa_off, int *rbp_slot);

/* RC_UNWIND_VERIFY=1 (read once at start-up): rc_depot_capture also runs
 * unw_backtrace and calls rc_unwind_verify_check, and counters are printed
 * at exit. */
extern int rc_unwind_verify;
/* Abort with the stacks unless fast[0..nf) equals ref[0..nr), or else the
 * frames unw_step finds above `skip` frames of the caller (unw_backtrace's
 * own cache goes stale after dlclose; see unwind_verify.c). */
void rc_unwind_verify_check(const uintptr_t *fast, int nf, const uintptr_t *ref, int nr, int skip);
/* Abort unless the id a kept whole stack gave (hit) is the one the depot
 * gives the stack walked again (id). */
void rc_unwind_verify_hit(uint32_t hit, uint32_t id);

#endif
