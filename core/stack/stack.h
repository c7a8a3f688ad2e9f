/* The stack layer: where the program called from. The unwinder
 * (stack/unwind.c, its tables stack/cfi.c, libunwind checks
 * stack/unwind_verify.c), the stack depot (stack/depot.c) and which code a pc
 * belongs to (stack/ldso.c). Uses only base/. */
#ifndef RC_STACK_H
#define RC_STACK_H
#include "base/base.h"

/* ---- stack depot (stack/depot.c) ---- */
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

/* Module generation: bumped after every dlclose (symbols/modules.c keeps
 * the history), recorded with each stack so its pcs are symbolized against
 * the modules that were mapped when it was captured. */
uint32_t rc_stack_generation(void);
uint32_t rc_stack_generation_bump(void);
/* Is pc inside ld.so? (allocations made by ld.so for itself are roots) */
bool rc_pc_in_ldso(uintptr_t pc);
void rc_ldso_init(void);
#endif
