/* Transparent huge pages under the tracked heap.
 *
 * The first touch of a 4 KiB page is the largest single cost of a program
 * that allocates much and frees little: on the benchmark VM a fault costs
 * 6-10 us, 256 MiB touched page by page takes 670 ms, and the same 256 MiB
 * madvise'd MADV_HUGEPAGE 15-40 ms (docs/boehm.md). bench/scale.c at
 * 4M blocks spent 40% of its time faulting in Boehm's heap.
 *
 * Boehm maps its heap with mmap when it grows (GC_expand_hp_inner ->
 * GET_MEM), called from inside GC_malloc on the allocating thread, and
 * takes whatever address the kernel gives (it asks only for 4 KiB
 * alignment). reachcheck already interposes mmap (scanners/mappings.c);
 * while this thread is inside a Boehm allocation of ours (rc_heap_growing),
 * an anonymous mapping of at least 2 MiB is the heap growing: it is mapped
 * 2 MiB-aligned (over-mapped, the ends cut off) and advised MADV_HUGEPAGE,
 * so that every 2 MiB of it can be one huge page. Smaller mappings (Boehm's
 * first growth steps and its header space) keep 4 KiB pages, and nothing
 * is advised before the heap passes `huge_pages` MiB: a small program's
 * RSS stays what it was. With THP "never" in
 * /sys/kernel/mm/transparent_hugepage/enabled the advice does nothing.
 *
 * Except in a VM that hands its free memory back to the host (virtio-balloon
 * free page reporting, docs/boehm.md) and serves small faults cheaply: the
 * guest reports free blocks of 2 MiB and more, the host drops their
 * backing, and a huge page must come from such a block, so its first touch
 * makes the host back all of it again. On a KVM guest of that kind 512 MiB
 * took 1.25-1.37 s in huge pages against 0.22-0.31 s in 4 KiB pages, which
 * the guest serves from memory it kept (~2 us a fault). On a PVM guest
 * (shadow paging, a guest kernel entry is a switch through the host) that
 * also reports free pages, every 4 KiB fault costs 12-15 us, reused memory
 * or not: 512 MiB took 1.4-1.9 s in 4 KiB pages and 0.9-1.1 s in cold huge
 * pages (0.04-0.09 s reused), and bench/scale.c at 16M blocks 5.7-6.0 s
 * against 3.3-4.4 s. So where the balloon reports, the first decision
 * times the first touch of a few fresh 4 KiB pages (fault_ns, ~0.1 ms once
 * a process, only where the heap passes 2 MiB) and keeps 4 KiB pages only
 * when a fault costs less than FAULT_SLOW_NS. With huge_pages -1 (the
 * default) that is the rule; elsewhere -1 means 8. Only virtio's balloon
 * is recognised: Hyper-V's (hv_balloon) can report free pages too and is
 * not looked for; huge_pages=0 serves there. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "heap/heap_internal.h"

#define HUGE_BYTES ((size_t)2 << 20)

RC_TLS int rc_heap_growing;
static size_t grown;   /* bytes Boehm mapped from our calls; under Boehm's lock */

#define AUTO_MIB 8
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

static long now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The cheapest first touch of PROBE_PAGES fresh 4 KiB pages, in ns (the
 * minimum: a preemption or the page-table page of the first touch inflates
 * one, not all); LONG_MAX if the scratch mapping fails. Raw syscalls (our
 * mmap interposer is not for this), clock_gettime only: inside Boehm's
 * lock. */
static long fault_ns(void)
{
  size_t len = (size_t)PROBE_PAGES * RC_PAGE;
  long r = syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == -1) return LONG_MAX;
  volatile char *p = (volatile char *)r;
  long best = LONG_MAX;
  for (int i = 0; i < PROBE_PAGES; i++) {
    long t0 = now_ns();
    p[(size_t)i * RC_PAGE] = 1;
    long t = now_ns() - t0;
    if (t < best) best = t;
  }
  syscall(SYS_munmap, r, len);
  return best;
}

/* The heap size from which sections are advised, 0: never. */
static size_t huge_threshold(void)
{
  static long auto_mib = -1;   /* -1: not decided yet; under Boehm's lock like grown */
  long mib = rc_opt.huge_pages;
  if (mib < 0) {
    if (auto_mib < 0) auto_mib = free_page_reporting() && fault_ns() < FAULT_SLOW_NS ? 0 : AUTO_MIB;
    mib = auto_mib;
  }
  return mib > 0 ? (size_t)mib << 20 : 0;
}

long rc_heap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  size_t threshold = len >= HUGE_BYTES ? huge_threshold() : 0;
  grown += len;
  if (!threshold || grown < threshold || len < HUGE_BYTES || !(flags & MAP_ANONYMOUS) ||
      (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_SHARED)))
    return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  len = (len + RC_PAGE - 1) & ~(size_t)(RC_PAGE - 1);
  long r = syscall(SYS_mmap, NULL, len + HUGE_BYTES - RC_PAGE, prot, flags, fd, off);
  if (r == -1) return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  uintptr_t lo = (uintptr_t)r, a = (lo + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1);
  uintptr_t end = lo + len + HUGE_BYTES - RC_PAGE;
  if (a > lo) syscall(SYS_munmap, lo, a - lo);
  if (end > a + len) syscall(SYS_munmap, a + len, end - (a + len));
  syscall(SYS_madvise, a, len, MADV_HUGEPAGE);
  return (long)a;
}
