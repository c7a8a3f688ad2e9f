/* The mark phase: from root ranges through tracked blocks with an explicit
 * mark stack (a 1M-node list must not recurse), then classification of the
 * unmarked blocks into direct and indirect leaks. Runs with the world
 * stopped: no locks, no allocation from the checked heap. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "mark.h"

static inline bool test_set(uint8_t *bits, uint32_t i)
{
  uint8_t m = (uint8_t)(1u << (i & 7));
  if (bits[i >> 3] & m) return true;
  bits[i >> 3] |= m;
  return false;
}
static inline bool test(const uint8_t *bits, uint32_t i) { return bits[i >> 3] & (1u << (i & 7)); }

int rc_mark_init(struct rc_mark *m)
{
  memset(m, 0, sizeof *m);
  m->nslots = __atomic_load_n(&rc_slot_hwm, __ATOMIC_ACQUIRE);
  m->bytes = ((size_t)m->nslots + 7) / 8 + 4096;
  m->marked = rc_mmap(m->bytes);
  m->indirect = rc_mmap(m->bytes);
  rc_vec_init(&m->stack, sizeof(uint32_t));
  m->tty = -1;
  return m->marked && m->indirect ? 0 : -1;
}

void rc_mark_free(struct rc_mark *m)
{
  if (m->tty > 0) (void)!write(rc_err_fd, "\r\033[K", 4);
  rc_munmap(m->marked, m->bytes);
  rc_munmap(m->indirect, m->bytes);
  rc_vec_free(&m->stack);
}

static inline void consider(struct rc_mark *m, uintptr_t w)
{
  if (w < rc_heap_lo || w >= rc_heap_hi) return;
  struct rc_hdr *h = rc_block_of(w);
  if (!h || h->slot >= m->nslots || test_set(m->marked, h->slot)) return;
  uint32_t *s = rc_vec_push(&m->stack);
  if (s) *s = h->slot;
  else m->overflow = true;   /* out of memory for the stack: rescan later */
}

static void scan(struct rc_mark *m, uintptr_t lo, uintptr_t hi)
{
  if (hi <= lo) return;
  if (rc_opt.unaligned) {
    for (uintptr_t p = lo; p + sizeof(uintptr_t) <= hi; p++) {
      uintptr_t w;
      memcpy(&w, (const void *)p, sizeof w);
      consider(m, w);
    }
    return;
  }
  lo = (lo + 7) & ~(uintptr_t)7;
  const uintptr_t *p = (const uintptr_t *)lo, *e = (const uintptr_t *)(hi & ~(uintptr_t)7);
  for (; p < e; p++) consider(m, *p);
  m->scanned += hi - lo;
}

/* Progress for long marks, only on a terminal (the world is stopped:
 * write(2) and a stack buffer only). */
static void progress(struct rc_mark *m)
{
  if (++m->popped & 0xfffff) return;
  if (m->tty < 0) m->tty = rc_opt.progress && m->nslots > (1u << 20) && isatty(rc_err_fd);
  if (!m->tty) return;
  char buf[96];
  int n = snprintf(buf, sizeof buf, "\rreachcheck: marked %llu of %u blocks", (unsigned long long)m->popped, m->nslots);
  if (n > 0) (void)!write(rc_err_fd, buf, (size_t)n);
}

static void drain(struct rc_mark *m)
{
  while (m->stack.len) {
    progress(m);
    uint32_t slot = ((uint32_t *)m->stack.data)[--m->stack.len];
    struct rc_hdr *h = rc_slot_hdr(slot);
    uintptr_t u = (uintptr_t)rc_hdr_user(h);
    scan(m, u, u + rc_hdr_size(h));
  }
}

void rc_mark_range(struct rc_mark *m, uintptr_t lo, uintptr_t hi)
{
  scan(m, lo, hi);
  drain(m);
}

void rc_mark_block(struct rc_mark *m, struct rc_hdr *h)
{
  if (h->slot < m->nslots && !test_set(m->marked, h->slot)) {
    uint32_t *s = rc_vec_push(&m->stack);
    if (s) *s = h->slot;
  }
  drain(m);
}

/* Live, visible (not internal) block in slot i, or NULL. */
struct rc_hdr *rc_mark_live(uint32_t i)
{
  struct rc_hdr *h = rc_slot_hdr(i);
  if (!h || h->slot != i) return NULL;
  uint64_t bits = __atomic_load_n(&h->bits, __ATOMIC_ACQUIRE);
  if ((bits & 0xf) != RC_LIVE || ((bits >> 4) & RC_F_INTERNAL)) return NULL;
  if (!rc_hdr_intact(h, bits)) return NULL;
  return h;
}

bool rc_mark_is_marked(const struct rc_mark *m, uint32_t slot) { return slot < m->nslots && test(m->marked, slot); }
bool rc_mark_is_indirect(const struct rc_mark *m, uint32_t slot) { return slot < m->nslots && test(m->indirect, slot); }

/* Blocks the roots reach are done; flag every unmarked block that another
 * unmarked block points into as indirect (self-pointers do not count, so a
 * pure cycle of two or more is all indirect). */
void rc_mark_classify(struct rc_mark *m)
{
  for (uint32_t i = 1; i < m->nslots; i++) {
    struct rc_hdr *h = rc_mark_live(i);
    if (!h || test(m->marked, i)) continue;
    uintptr_t u = (uintptr_t)rc_hdr_user(h), e = u + rc_hdr_size(h);
    uintptr_t step = rc_opt.unaligned ? 1 : 8;
    uintptr_t p = rc_opt.unaligned ? u : (u + 7) & ~(uintptr_t)7;
    for (; p + 8 <= e; p += step) {
      uintptr_t w;
      memcpy(&w, (const void *)p, sizeof w);
      if (w < rc_heap_lo || w >= rc_heap_hi) continue;
      struct rc_hdr *t = rc_block_of(w);
      if (t && t != h && t->slot < m->nslots && !test(m->marked, t->slot)) test_set(m->indirect, t->slot);
    }
  }
}
