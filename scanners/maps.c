/* /proc/self/maps at check time: the readable mappings every root range is
 * clipped to, so a stale bound never makes the checker fault. Read with
 * open/read into stack buffers: no stdio, no heap. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "scanners/scanners.h"

static uintptr_t hex(const char **p)
{
  uintptr_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    if (c >= '0' && c <= '9') v = v * 16 + (uintptr_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + (uintptr_t)(c - 'a' + 10);
    else return v;
  }
}

static void parse_line(struct rc_vec *out, const char *l, const char *end)
{
  const char *p = l;
  uintptr_t lo = hex(&p);
  if (*p++ != '-') return;
  uintptr_t hi = hex(&p);
  if (*p++ != ' ' || end - p < 4) return;
  int prot = (p[0] == 'r' ? 1 : 0) | (p[1] == 'w' ? 2 : 0) | (p[2] == 'x' ? 4 : 0) | (p[3] == 's' ? RC_MAP_SHARED : 0);
  /* skip perms, offset, dev, inode to the name */
  int fields = 0;
  while (p < end && fields < 4) {
    while (p < end && *p != ' ') p++;
    while (p < end && *p == ' ') p++;
    fields++;
  }
  struct rc_map *m = rc_vec_push(out);
  if (!m) return;
  m->lo = lo;
  m->hi = hi;
  m->prot = prot;
  size_t n = (size_t)(end - p);
  if (n >= sizeof m->name) p = end - (n = sizeof m->name - 1);  /* keep the tail of long paths */
  memcpy(m->name, p, n);
  m->name[n] = 0;
}

int rc_maps_read(struct rc_vec *out)
{
  rc_vec_init(out, sizeof(struct rc_map));
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[8192], line[4096];
  size_t ll = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        line[ll] = 0;   /* hex() stops at the NUL even on a malformed line */
        parse_line(out, line, line + ll);
        ll = 0;
      } else if (ll < sizeof line - 1) {
        line[ll++] = buf[i];
      }
    }
  }
  close(fd);
  return 0;
}

const struct rc_map *rc_maps_find(const struct rc_vec *maps, uintptr_t a)
{
  const struct rc_map *m = (const struct rc_map *)maps->data;
  size_t lo = 0, hi = maps->len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a < m[mid].lo) hi = mid;
    else if (a >= m[mid].hi) lo = mid + 1;
    else return &m[mid];
  }
  return NULL;
}

/* Pages never populated. A root range can be far larger than what the
 * program ever touched: a 512 MiB static array of which it used a page, a
 * custom allocator's 2 GiB MAP_NORESERVE arena. Reading every page of it
 * faults each one in (the zero page, or with transparent huge pages a real
 * one): the exit check of such a program took 1.5 s and 527 MiB of RSS for
 * the array (LeakSanitizer: the same), 8.8 s and 2 GiB for the arena
 * (LeakSanitizer scans no mapping of the program's, and calls the block
 * behind it leaked).
 * /proc/self/pagemap says per page whether it is present (bit 63) or
 * swapped out (bit 62). In a private mapping a page this process ever wrote
 * is one or the other until it is unmapped or discarded (then it reads
 * zero); a page that is neither holds zeros or the file's own bytes,
 * never a heap address, which only a write at run time can put there. So
 * those pages are skipped. Not in a shared mapping: its written pages can
 * be evicted to their file or to swap with no trace in this page table. */
#define SPARSE_MIN_PAGES 32   /* smaller pieces are read whole: the open and read cost more */
#define PM_CHUNK 512           /* pagemap entries read at a time (4 KiB) */

/* The page holding this frame is present: a pagemap that does not say so
 * (a sandbox's emulation that reads zeros) would have every page skipped,
 * and every block called leaked. Such a pagemap is not used. */
int rc_pagemap_open(void)
{
  if (rc_opt.unaligned) return -1;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  volatile char here = 0;
  uint64_t ent = 0;
  uintptr_t page = (uintptr_t)&here & ~(uintptr_t)(RC_PAGE - 1);
  if (fd >= 0 && (pread(fd, &ent, sizeof ent, (off_t)(page / RC_PAGE * sizeof ent)) != (ssize_t)sizeof ent ||
                  !(ent >> 63))) {
    close(fd);
    fd = -1;
  }
  return fd;
}

size_t rc_pagemap_populated(int fd, uintptr_t page, size_t n, uint64_t *bits)
{
  uint64_t ent[PM_CHUNK];
  if (n > PM_CHUNK) n = PM_CHUNK;
  if (pread(fd, ent, n * sizeof ent[0], (off_t)(page / RC_PAGE * sizeof ent[0])) != (ssize_t)(n * sizeof ent[0]))
    return 0;
  memset(bits, 0, (n + 63) / 64 * sizeof *bits);
  for (size_t i = 0; i < n; i++)
    if (ent[i] >> 62) bits[i / 64] |= (uint64_t)1 << (i % 64);
  return n;
}

static void populated_runs(int fd, void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx, uintptr_t a,
                           uintptr_t b)
{
  uint64_t bits[PM_CHUNK / 64];
  uintptr_t run = 0;   /* start of the populated run being gathered, 0: none */
  for (uintptr_t pg = a & ~(uintptr_t)(RC_PAGE - 1); pg < b;) {
    size_t n = rc_pagemap_populated(fd, pg, (b - pg + RC_PAGE - 1) / RC_PAGE, bits);
    if (!n) {   /* cannot tell: the rest whole */
      fn(ctx, run ? run : pg > a ? pg : a, b);
      return;
    }
    for (size_t i = 0; i < n; i++) {
      uintptr_t p = pg + i * RC_PAGE;
      bool used = bits[i / 64] >> (i % 64) & 1;
      if (used && !run) run = p > a ? p : a;
      if (!used && run) {
        fn(ctx, run, p);
        run = 0;
      }
    }
    pg += n * RC_PAGE;
  }
  if (run) fn(ctx, run, b);
}

bool rc_populated_runs(uintptr_t a, uintptr_t b, void (*fn)(void *ctx, uintptr_t lo, uintptr_t hi), void *ctx)
{
  int fd = rc_pagemap_open();   /* none with unaligned=1: a word may straddle into a skipped page */
  if (fd < 0) return false;
  populated_runs(fd, fn, ctx, a, b);
  close(fd);
  return true;
}

struct root_run { rc_root_fn fn; void *ctx; const struct rc_root_range *r; };
static void root_run(void *ctx, uintptr_t lo, uintptr_t hi)
{
  const struct root_run *c = ctx;
  c->fn(c->ctx, lo, hi, c->r);
}

void rc_root_piece(const struct rc_map *m, rc_root_fn fn, void *ctx, uintptr_t a, uintptr_t b,
                   const struct rc_root_range *r)
{
  struct root_run c = {fn, ctx, r};
  if (!(m->prot & RC_MAP_SHARED) && b - a >= (uintptr_t)SPARSE_MIN_PAGES * RC_PAGE && rc_populated_runs(a, b, root_run, &c))
    return;
  fn(ctx, a, b, r);
}

void rc_root_clipped(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t lo, uintptr_t hi,
                     const struct rc_root_range *r)
{
  const struct rc_map *m = (const struct rc_map *)maps->data;
  for (size_t i = 0; i < maps->len && lo < hi; i++) {
    if (m[i].hi <= lo) continue;
    if (m[i].lo >= hi) break;
    uintptr_t a = lo > m[i].lo ? lo : m[i].lo, b = hi < m[i].hi ? hi : m[i].hi;
    if ((m[i].prot & 1) && a < b) rc_root_piece(&m[i], fn, ctx, a, b, r);
  }
}
