/* Mark state of one check: bitmaps indexed by block slot. */
#ifndef RC_MARK_H
#define RC_MARK_H
#include "check/check.h"

struct rc_mark {
  uint32_t nslots;
  size_t bytes;
  uint8_t *marked, *indirect;
  struct rc_vec stack;
  bool overflow;
  uint64_t scanned;
  uint64_t popped;
  int tty;              /* -1 unknown, 0 no, 1 show progress */
  int depth;            /* drains nested inside a scan (see scan) */
  /* Mark bits by address (one per 16-byte granule of [alo, heap_hi)), so a
   * pointer to a block already marked is dropped without touching its
   * header; NULL if the heap span is too large. */
  uint8_t *abits;
  uint64_t reach_blocks, reach_bytes, ign_blocks, ign_bytes;   /* counted when marked */
  uintptr_t alo;
  size_t abytes;
  const struct rc_slab *last_slab;   /* the slab the last candidate was in */
};
int rc_mark_init(struct rc_mark *m);
void rc_mark_free(struct rc_mark *m);
/* Forget every mark (not the indirect flags) to mark again from other roots. */
void rc_mark_reset(struct rc_mark *m);
void rc_mark_range(struct rc_mark *m, uintptr_t lo, uintptr_t hi);
void rc_mark_block(struct rc_mark *m, struct rc_hdr *h);
struct rc_hdr *rc_mark_live(uint32_t slot);
bool rc_mark_corrupt(uint32_t slot);
bool rc_mark_is_marked(const struct rc_mark *m, uint32_t slot);
bool rc_mark_is_indirect(const struct rc_mark *m, uint32_t slot);
void rc_mark_classify(struct rc_mark *m);
#endif
