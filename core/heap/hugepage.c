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
 * Except where huge pages do not pay (rc_thp_pays, base/thp.c): in a VM
 * that hands its free memory back to the host and serves small faults
 * cheaply, a huge page's first touch makes the host back all 2 MiB again
 * (docs/boehm.md: on such a KVM guest 512 MiB took 1.25-1.37 s in huge
 * pages against 0.22-0.31 s in 4 KiB pages; on a PVM guest whose 4 KiB
 * faults cost 12-15 us, bench/scale.c at 16M blocks took 5.7-6.0 s without
 * huge pages and 3.3-4.4 s with them). With huge_pages -1 (the default)
 * the heap then keeps 4 KiB pages; elsewhere -1 means 8. An explicit N is
 * obeyed. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "heap/heap_internal.h"

#define HUGE_BYTES ((size_t)2 << 20)

RC_TLS int rc_heap_growing;
static size_t grown;   /* bytes Boehm mapped from our calls; under Boehm's lock */

#define AUTO_MIB 8
/* The heap size from which sections are advised, 0: never. */
static size_t huge_threshold(void)
{
  long mib = rc_opt.huge_pages < 0 ? (rc_thp_pays() ? AUTO_MIB : 0) : rc_opt.huge_pages;
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
  long r = syscall(SYS_mmap, NULL, len + RC_THP_SLACK, prot, flags, fd, off);
  if (r == -1) return syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return (long)rc_thp_cut((void *)r, len);
}
