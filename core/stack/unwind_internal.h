/* What the unwinder's files share (stack/cfi.c, stack/unwind_verify.c,
 * stack/unwind.c, from the bottom up): the 32-bit rule a return address
 * unwinds by, the fallback reasons and the counters. */
#ifndef RC_UNWIND_INTERNAL_H
#define RC_UNWIND_INTERNAL_H
#include "base/base.h"
/* Defined in this library: hidden, so that the walker reads the counters'
 * switch (rc_unwind_verify) directly, not through the GOT. */
#pragma GCC visibility push(hidden)
#include "stack/stack.h"
#include "stack/unwind.h"

/* Code and stacks lie below 2^47 (user space of 4-level paging): return
 * addresses above are not cached. */
#define PC_BITS 47
/* Return addresses below this end a walk, as in libunwind 1.6.2's
 * tdep_trace and unw_backtrace: the end of the stack, or garbage. */
#define RA_MIN 0x4000

/* ---- rules: 32 bits, 0 = none ----
 * special:1 | cfa_is_rbp:1 | rbp_saved:1 | -:1 | rbp_slot:8 | cfa_off:20
 * Moving from a frame to its caller: CFA = (rbp or rsp) + cfa_off, the
 * return address at CFA - 8, and rbp reloaded from CFA - 8 * rbp_slot or
 * kept. A special rule ends the walk: K_END, or R_FALLBACK with its reason
 * (FB_*) in the slot bits. */
#define R_SPECIAL 1u
#define R_CFA_RBP 2u
#define R_RBP_SAVED 4u
#define R_FB 8u
#define R_SLOT_SHIFT 4
#define R_SLOT_MAX 0xffu
#define R_OFF_SHIFT 12
#define R_SLOT(r) (((r) >> R_SLOT_SHIFT) & R_SLOT_MAX)     /* rbp saved at CFA - 8 * slot */
#define R_CFA_OFF(r) ((r) >> R_OFF_SHIFT)
#define MAX_CFA_OFF ((1u << (32 - R_OFF_SHIFT)) - 1)
#define K_END R_SPECIAL
#define R_FALLBACK(why) (R_SPECIAL | R_FB | (uint32_t)(why) << R_SLOT_SHIFT)
/* A plain rule: CFA from rbp or rsp + off, rbp saved in slot (0: kept). */
static inline uint32_t rule_make(bool cfa_rbp, uint32_t off, uint32_t slot)
{
  return off << R_OFF_SHIFT | (cfa_rbp ? R_CFA_RBP : 0) | (slot ? R_RBP_SAVED | slot << R_SLOT_SHIFT : 0);
}

/* ---- counters: fallbacks always, the rest under RC_UNWIND_VERIFY ---- */
enum {
  ST_CAPTURE, ST_FALLBACK, ST_MISS, ST_VERIFIED, ST_STALE_LIBUNWIND,
  FB_STACK, FB_NOINFO, FB_UNSUPPORTED, FB_BOUNDS, FB_NOMODULE, FB_NOCACHE, ST_SPLICE, ST_SPLICED, ST_HIT, ST_N
};
_Static_assert(ST_N <= R_SLOT_MAX, "a fallback reason fits the slot bits");
extern uint64_t rc_unwind_stats[ST_N];   /* unwind_verify.c prints them at exit */
#define STAT(i) do { if (RC_UNLIKELY(rc_unwind_verify)) __atomic_fetch_add(&rc_unwind_stats[i], 1, __ATOMIC_RELAXED); } while (0)

/* ---- the unwind tables (cfi.c) ---- */
/* The rule for return address pc, read from the .eh_frame_hdr of the module
 * that holds pc - 1 (inside dl_iterate_phdr); 0 when no module does. */
uint32_t rc_cfi_rule(uintptr_t pc);

/* ---- RC_UNWIND_VERIFY (unwind_verify.c) ---- */
/* Read RC_UNWIND_VERIFY from the process's initial stack (before environ is
 * set): once, before the first capture. */
void rc_unwind_verify_from_env(void);
/* RC_UNWIND_VERIFY: name one of the first return addresses left to
 * libunwind (rule: what cfi.c read for it, 0 for no module). */
void rc_unwind_note_fallback(uintptr_t pc, uint32_t rule);
#pragma GCC visibility pop
#endif
