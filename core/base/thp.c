/* Do transparent huge pages pay on this machine? Where a VM hands its free
 * memory back to the host (virtio-balloon free page reporting) a huge page's
 * first touch makes the host back all 2 MiB of it again; on a KVM guest whose
 * 4 KiB faults cost ~2 us that made huge pages the slower choice, while on a
 * PVM guest whose every 4 KiB fault costs 12-15 us they still win
 * (docs/boehm.md, with the measurements). So: yes, unless the balloon reports
 * free pages and a 4 KiB fault, timed once on a few scratch pages, costs
 * under FAULT_SLOW_NS. The tracked heap (heap/hugepage.c, option huge_pages)
 * and the check's dense arrays (rc_mmap_dense) follow the answer.
 *
 * Raw syscalls, stack buffers and clock_gettime only: the heap asks from
 * inside a Boehm allocation, under Boehm's lock (opendir would malloc, and
 * reachcheck's mmap interposer is not for this). Decided once; two threads
 * that race to decide compute the same answer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/base.h"

#define VIRTIO_BALLOON_F_REPORTING 5   /* linux/virtio_balloon.h */
/* Between the two guests measured (~2 us and 12-15 us a 4 KiB fault); a
 * cold huge page cost 4-5 ms on both, 8-10 us per 4 KiB it holds. */
#define FAULT_SLOW_NS 5000
#define PROBE_PAGES 8

/* Does a virtio balloon device report free pages to the host? Its sysfs
 * features file is one '0' or '1' per feature bit, bit 0 first. Raw
 * syscalls and stack buffers only: this runs inside a Boehm allocation
 * (opendir would malloc). */
static bool free_page_reporting(void)
{
  int dir = (int)syscall(SYS_openat, AT_FDCWD, "/sys/bus/virtio/drivers/virtio_balloon",
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  char buf[2048];
  bool on = false;
  long n;
  while (!on && (n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n && !on;) {
      const struct dirent64 *d = (const struct dirent64 *)(buf + off);
      off += d->d_reclen;
      size_t len = strlen(d->d_name);
      if (strncmp(d->d_name, "virtio", 6) || len > 32) continue;   /* a device's link: virtio<N> */
      char path[48], feat[64];
      memcpy(path, d->d_name, len);
      memcpy(path + len, "/features", sizeof "/features");
      int fd = (int)syscall(SYS_openat, dir, path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      long r = syscall(SYS_read, fd, feat, sizeof feat);
      syscall(SYS_close, fd);
      on = r > VIRTIO_BALLOON_F_REPORTING && feat[VIRTIO_BALLOON_F_REPORTING] == '1';
    }
  }
  syscall(SYS_close, dir);
  return on;
}

/* The cheapest first touch of PROBE_PAGES fresh 4 KiB pages, in ns (the
 * minimum: a preemption or the page-table page of the first touch inflates
 * one, not all); LONG_MAX if the scratch mapping fails. Raw syscalls (our
 * mmap interposer is not for this), clock_gettime (rc_now_ms) only: inside
 * Boehm's lock. */
static long fault_ns(void)
{
  size_t len = (size_t)PROBE_PAGES * RC_PAGE;
  long r = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == -1) return LONG_MAX;
  volatile char *p = (volatile char *)r;
  long best = LONG_MAX;
  for (int i = 0; i < PROBE_PAGES; i++) {
    double t0 = rc_now_ms();
    p[(size_t)i * RC_PAGE] = 1;
    long t = (long)((rc_now_ms() - t0) * 1e6);
    if (t < best) best = t;
  }
  syscall(SYS_munmap, r, len);
  return best;
}

void *rc_thp_cut(void *p, size_t len)
{
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t lo = (uintptr_t)p, a = (lo + huge - 1) & ~(huge - 1), end = lo + len + RC_THP_SLACK;
  if (a > lo) syscall(SYS_munmap, lo, a - lo);
  if (end > a + len) syscall(SYS_munmap, a + len, end - (a + len));
  syscall(SYS_madvise, a, len, MADV_HUGEPAGE);
  return (void *)a;
}

bool rc_thp_pays(void)
{
  static int pays = -1;   /* -1: not decided yet */
  int p = __atomic_load_n(&pays, __ATOMIC_RELAXED);
  if (p < 0) {
    p = !(free_page_reporting() && fault_ns() < FAULT_SLOW_NS);
    __atomic_store_n(&pays, p, __ATOMIC_RELAXED);
  }
  return p;
}
