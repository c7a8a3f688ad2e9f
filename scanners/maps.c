/* /proc/self/maps at check time: the readable mappings every root range is
 * clipped to, so a stale bound never makes the checker fault. Asked for with
 * the PROCMAP_QUERY ioctl where the kernel has it, else read as text with
 * open/read into stack buffers: no stdio, no heap. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "scanners/scanners.h"

/* PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h; Debian 12's headers
 * predate it, so its ABI is spelled here): one VMA an ioctl, in binary,
 * and without its path unless asked for. The text of /proc/self/maps costs
 * the kernel a formatted line and a path lookup a mapping: a check of
 * /bin/true under the preload spent 82 us on it, against ~20 us of ioctls
 * (docs/roots.md, "Reading the mappings"). */
struct rc_procmap_query {
  uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
  uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
  uint64_t vma_name_addr, build_id_addr;
};
#define RC_PROCMAP_QUERY _IOWR('f', 17, struct rc_procmap_query)
#define RC_PMQ_COVERING_OR_NEXT_VMA 0x10
/* its vma_flags: readable 1, writable 2, executable 4, shared 8, as rc_map's prot */
_Static_assert(RC_MAP_SHARED == 8, "PROCMAP_QUERY's flags are rc_map's prot bits");

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

/* A mapping of no file (inode 0): only while the list is read (drop_vvar). */
#define MAP_NOFILE 0x100

/* A line's "lo-hi perms offset dev inode": the path is not needed. l is
 * NUL-terminated (hex() stops there on a malformed line). */
static void parse_line(struct rc_vec *out, const char *l)
{
  const char *p = l;
  uintptr_t lo = hex(&p);
  if (*p++ != '-') return;
  uintptr_t hi = hex(&p);
  if (*p++ != ' ' || !p[0] || !p[1] || !p[2] || !p[3]) return;
  int prot = (p[0] == 'r' ? 1 : 0) | (p[1] == 'w' ? 2 : 0) | (p[2] == 'x' ? 4 : 0) | (p[3] == 's' ? RC_MAP_SHARED : 0);
  for (int field = 0; field < 3 && *p; field++) {   /* to the inode, past perms, offset and dev */
    while (*p && *p != ' ') p++;
    while (*p == ' ') p++;
  }
  if (p[0] == '0' && p[1] == ' ') prot |= MAP_NOFILE;
  struct rc_map *m = rc_vec_push(out);
  if (!m) return;
  m->lo = lo;
  m->hi = hi;
  m->prot = prot;
}

/* The kernel's vvar pages ([vvar], and [vvar_vclock] since Linux 6.13: the
 * pages of no file just below [vdso]) read as mapped and readable, yet a
 * read of some of them (a time namespace's page, a paravirtual clock this
 * machine does not have) raises SIGBUS. No program pointer lives there, but
 * a garbage word (an exited thread's stale descriptor, say) may point in:
 * they are not readable for the check. Found by address, below the vDSO
 * the auxiliary vector names, at most two mappings of at most 8 pages. */
static void drop_vvar(struct rc_vec *out)
{
  struct rc_map *m = (struct rc_map *)out->data;
  uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  const struct rc_map *d = vdso ? rc_maps_find(out, vdso) : NULL;
  size_t i = d && d->lo == vdso ? (size_t)(d - m) : 0;
  for (size_t k = 0; i > 0 && k < 2; k++, i--) {
    struct rc_map *v = &m[i - 1];
    if (v->hi != m[i].lo || (v->prot & ~MAP_NOFILE) != 1 || !(v->prot & MAP_NOFILE) || v->hi - v->lo > (uintptr_t)8 * RC_PAGE) break;
    v->prot = MAP_NOFILE;   /* not readable */
  }
  for (size_t k = 0; k < out->len; k++) m[k].prot &= ~MAP_NOFILE;
}

int rc_maps_read_text(struct rc_vec *out)
{
  rc_vec_init(out, sizeof(struct rc_map));
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  /* whole lines are parsed where they lie in buf; a line cut by the end
   * of a read (the kernel ends each read at a line's end, but nothing
   * here relies on it) moves to the front, its first 127 bytes, which
   * hold all that is parsed: "lo-hi perms offset dev inode " is at most
   * 16+1+16+1+4+1+16+1+9+1+20 = 86 bytes */
  char buf[8192 + 1];
  size_t have = 0;
  ssize_t n;
  while ((n = read(fd, buf + have, sizeof buf - 1 - have)) > 0) {
    have += (size_t)n;
    char *p = buf, *end = buf + have, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
      *nl = 0;
      parse_line(out, p);
      p = nl + 1;
    }
    have = (size_t)(end - p);
    if (have > 127) have = 127;
    memmove(buf, p, have);
  }
  close(fd);
  drop_vvar(out);
  return 0;
}

int rc_maps_read_query(struct rc_vec *out)
{
  rc_vec_init(out, sizeof(struct rc_map));
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -2;
  uint64_t at = 0;
  int err = 0;
  for (;;) {
    struct rc_procmap_query q = {.size = sizeof q, .query_flags = RC_PMQ_COVERING_OR_NEXT_VMA, .query_addr = at};
    if (ioctl(fd, RC_PROCMAP_QUERY, &q)) {
      /* ENOENT: no mapping at or above `at`, the end; ENOTTY or EINVAL:
       * a kernel without it */
      err = errno == ENOENT ? 0 : errno == ENOTTY || errno == EINVAL ? -1 : -2;
      break;
    }
    /* a mapping that grew down over `at` since (ours, merged) starts there */
    struct rc_map *m = q.vma_end > at ? rc_vec_push(out) : NULL;
    if (!m) {
      err = -2;   /* out of memory, or an answer that does not move on */
      break;
    }
    m->lo = q.vma_start > at ? q.vma_start : at;
    m->hi = q.vma_end;
    m->prot = (int)(q.vma_flags & 15) | (q.inode == 0 && !q.dev_major && !q.dev_minor ? MAP_NOFILE : 0);
    at = q.vma_end;
  }
  close(fd);
  if (err) rc_vec_free(out);
  else drop_vvar(out);
  return err;
}

int rc_maps_read(struct rc_vec *out)
{
  static int no_query;   /* the kernel has none: the text from then on */
  if (!__atomic_load_n(&no_query, __ATOMIC_RELAXED)) {
    int r = rc_maps_read_query(out);
    if (!r) return 0;
    if (r == -1) __atomic_store_n(&no_query, 1, __ATOMIC_RELAXED);
  }
  return rc_maps_read_text(out);
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
