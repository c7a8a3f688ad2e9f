/* The stack layer: where the program called from. The unwinder
 * (stack/unwind.c, its tables stack/cfi.c, libunwind checks
 * stack/unwind_verify.c), the stack depot (stack/depot.c) and which code a pc
 * belongs to (stack/ldso.c). Uses only base/. */
#ifndef RC_STACK_H
#define RC_STACK_H
#include "base/base.h"
#include "stack/unwind.h"

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
static inline uint32_t rc_depot_capture(const struct rc_at *at);
/* Its walk, when no kept whole stack answered (hit: the kept one's id, or
 * 0; with RC_UNWIND_VERIFY the walk checks it). */
uint32_t rc_depot_capture_walk(const struct rc_at *at, int depth, uint32_t gen, uint32_t hit);
const struct rc_stack *rc_depot_get(uint32_t id);
uint32_t rc_depot_count(void);
/* reachcheck's own code, [*lo, *hi): its executable segment. */
void rc_self_text(uintptr_t *lo, uintptr_t *hi);
void rc_depot_lock(void);
void rc_depot_unlock(void);

/* Module generation: bumped after every dlclose (symbols/modules.c keeps
 * the history), recorded with each stack so its pcs are symbolized against
 * the modules that were mapped when it was captured. */
uint32_t rc_stack_generation(void);
uint32_t rc_stack_generation_bump(void);
extern RC_HIDDEN uint32_t rc_stack_gen;   /* read by rc_stack_generation */
/* Is pc inside ld.so? (allocations made by ld.so for itself are roots)
 * Inline: malloc asks every time (a call was 16 instructions of each). */
extern RC_HIDDEN uintptr_t rc_ldso_lo, rc_ldso_hi;
static inline bool rc_pc_in_ldso(uintptr_t pc) { return pc >= rc_ldso_lo && pc < rc_ldso_hi; }
void rc_ldso_init(void);

/* Inline in malloc: most captures are a kept whole stack of this thread
 * (stack/unwind.c, rc_unwind_hit), and the walk's function, with its frame
 * of 64 return addresses and six saved registers, is only entered for the
 * others. */
static inline uint32_t rc_depot_capture(const struct rc_at *at)
{
  const int d = (int)rc_opt.stack_depth, depth = d < 1 ? 1 : d > RC_MAX_FRAMES ? RC_MAX_FRAMES : d;
  const uint32_t gen = __atomic_load_n(&rc_stack_gen, __ATOMIC_ACQUIRE);
  const uint32_t hit = rc_unwind_hit(depth, at->fp[1], (uintptr_t)(at->fp + 2), at->fp[0], gen);
  if (RC_LIKELY(hit) && RC_LIKELY(!rc_unwind_verify)) return hit;
  return rc_depot_capture_walk(at, depth, gen, hit);
}
#endif
