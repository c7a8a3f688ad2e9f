/* Memory the program maps itself. A custom allocator's arenas (CPython's
 * obmalloc, any mmap-backed pool) hold pointers to malloc'd blocks; without
 * them as roots those blocks look leaked. mmap, mremap and munmap are
 * interposed to keep a table of the anonymous mappings the program made,
 * with their allocation stacks, in internal memory; a check scans the parts
 * that are readable and writable then, as valgrind scans client memory.
 * Not recorded: mappings made while inside reachcheck (rc_in_runtime: libdw,
 * which the symbolizer loads and calls only there) or from Boehm GC,
 * libunwind or reachcheck's own code (caller pc),
 * mappings flagged MAP_STACK or MAP_GROWSDOWN, and, at check time, any that
 * holds a registered thread's stack (a stack is scanned from its stack
 * pointer, never whole). ld.so and glibc map through their internal
 * entry points, which are never interposed: thread stacks, ld.so's memory. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <gc/gc.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "scanners/scanners.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define EXPORT __attribute__((visibility("default")))
#define CAP (1u << 18)

struct mrec { uintptr_t lo, hi, pc; uint32_t stack, pad; };
static struct mrec *tab;
static size_t ntab;
static rc_spinlock tab_lock = RC_SPINLOCK_INIT;
static int full_warned;

/* Text of the modules whose mappings are never roots. */
static uintptr_t excl_lo[16], excl_hi[16];
static int nexcl;
static int excl_ready;

static bool excluded_pc(uintptr_t pc)
{
  for (int i = 0; i < nexcl; i++)
    if (pc >= excl_lo[i] && pc < excl_hi[i]) return true;
  return false;
}

/* All signals blocked around the table (a handler that maps memory must not
 * spin on a lock its own thread holds; the stop signal then also finds no
 * thread half-way through an update). Raw syscalls: async-signal-safe. */
static void table_lock(sigset_t *old)
{
  sigset_t all;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, old, _NSIG / 8);
  rc_spin_lock(&tab_lock);
}

static void table_unlock(const sigset_t *old)
{
  rc_spin_unlock(&tab_lock);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, _NSIG / 8);
}

static bool table_ready(void)
{
  if (tab) return true;
  rc_in_runtime++;
  tab = rc_mmap(CAP * sizeof *tab);
  rc_in_runtime--;
  return tab != NULL;
}

/* Remove [lo, hi) from every record (munmap, MAP_FIXED over it, mremap
 * away from it). Locked. */
static void cut_locked(uintptr_t lo, uintptr_t hi)
{
  for (size_t i = 0; i < ntab;) {
    struct mrec *r = &tab[i];
    if (r->hi <= lo || r->lo >= hi) {
      i++;
      continue;
    }
    if (r->lo < lo && r->hi > hi) {   /* a hole in the middle: split */
      if (ntab < CAP) {
        tab[ntab] = *r;
        tab[ntab].lo = hi;
        ntab++;
      }
      r->hi = lo;
      i++;
    } else if (r->lo < lo) {
      r->hi = lo;
      i++;
    } else if (r->hi > hi) {
      r->lo = hi;
      i++;
    } else {
      *r = tab[--ntab];   /* wholly gone */
    }
  }
}

static void add_locked(uintptr_t lo, uintptr_t hi, uintptr_t pc, uint32_t stack)
{
  if (ntab >= CAP) {
    if (!full_warned++) rc_log("more than %u mappings made by the program; the rest are not roots", CAP);
    return;
  }
  tab[ntab++] = (struct mrec){lo, hi, pc, stack, 0};
}

static uintptr_t page_up(size_t n) { return ((uintptr_t)n + 4095) & ~(uintptr_t)4095; }

static void note_map(void *p, size_t len, int flags, uintptr_t pc, const struct rc_at *at)
{
  uintptr_t lo = (uintptr_t)p, hi = lo + page_up(len);
  bool record = (flags & MAP_ANONYMOUS) && !(flags & (MAP_STACK | MAP_GROWSDOWN)) && !rc_in_runtime &&
                !(excl_ready && excluded_pc(pc));
  if (!record && !(flags & MAP_FIXED)) return;
  uint32_t stack = 0;
  /* Before the constructor, Boehm may be mapping with its lock held, and the
   * unwinder's fallback may allocate: no stack then (such records are
   * dropped at start-up anyway when they are Boehm's). */
  if (record && excl_ready && rc_heap_ready()) stack = rc_depot_capture(at);
  sigset_t old;
  table_lock(&old);
  rc_in_runtime++;
  if (table_ready()) {
    if (flags & MAP_FIXED) cut_locked(lo, hi);
    if (record) add_locked(lo, hi, pc, stack);
  }
  rc_in_runtime--;
  table_unlock(&old);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
  RC_AT_HERE(at);
  /* The kernel's mmap, as glibc's does on x86-64 (no other work there);
   * Boehm growing the tracked heap goes to the heap (huge pages). */
  long r = RC_UNLIKELY(rc_heap_growing) ? rc_heap_mmap(addr, len, prot, flags, fd, off)
                                         : syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  if (r == -1) return MAP_FAILED;
  note_map((void *)r, len, flags, (uintptr_t)__builtin_return_address(0), &at);
  return (void *)r;
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len)
{
  long r = syscall(SYS_munmap, addr, len);
  if (r == 0 && tab) {
    sigset_t old;
    table_lock(&old);
    cut_locked((uintptr_t)addr, (uintptr_t)addr + page_up(len));
    table_unlock(&old);
  }
  return (int)r;
}

EXPORT void *mremap(void *old_addr, size_t old_len, size_t new_len, int flags, ...)
{
  void *want = NULL;
  if (flags & MREMAP_FIXED) {
    va_list ap;
    va_start(ap, flags);
    want = va_arg(ap, void *);
    va_end(ap);
  }
  long r = syscall(SYS_mremap, old_addr, old_len, new_len, flags, want);
  if (r == -1 || !tab) return r == -1 ? MAP_FAILED : (void *)r;
  uintptr_t olo = (uintptr_t)old_addr, ohi = olo + page_up(old_len);
  uintptr_t nlo = (uintptr_t)r, nhi = nlo + page_up(new_len);
  sigset_t old;
  table_lock(&old);
  /* The new range inherits the record that held the old start. */
  const struct mrec *src = NULL;
  for (size_t i = 0; i < ntab && !src; i++)
    if (olo >= tab[i].lo && olo < tab[i].hi) src = &tab[i];
  struct mrec keep = src ? *src : (struct mrec){0, 0, 0, 0, 0};
#ifdef MREMAP_DONTUNMAP
  if (!(flags & MREMAP_DONTUNMAP))
#endif
    cut_locked(olo, ohi);
  cut_locked(nlo, nhi);   /* MREMAP_FIXED replaced whatever was there */
  if (src) add_locked(nlo, nhi, keep.pc, keep.stack);
  table_unlock(&old);
  return (void *)r;
}

/* ---- set-up ---- */
static int excl_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  const uintptr_t *probes = arg;
  bool hit = false;
  for (int k = 0; k < 3 && !hit; k++) hit = rc_dl_holds(info, probes[k], 1);
  if (!hit) return 0;
  for (int i = 0; i < info->dlpi_phnum && nexcl < 16; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    excl_lo[nexcl] = info->dlpi_addr + ph->p_vaddr;
    excl_hi[nexcl] = excl_lo[nexcl] + ph->p_memsz;
    nexcl++;
  }
  return 0;
}

/* Held across fork, so the child never inherits it locked. */
static void fork_prepare(void) { rc_spin_lock(&tab_lock); }
static void fork_release(void) { rc_spin_unlock(&tab_lock); }

/* Called from the runtime's constructor: the excluded modules are all
 * loaded by then (they are reachcheck's dependencies). Records made before
 * (from Boehm growing its heap for an early malloc) are dropped. */
void rc_mappings_init(void)
{
  uintptr_t probes[3] = {(uintptr_t)&GC_base, (uintptr_t)&unw_backtrace, (uintptr_t)&rc_now_ms};
  dl_iterate_phdr(excl_cb, probes);
  sigset_t old;
  table_lock(&old);
  __atomic_store_n(&excl_ready, 1, __ATOMIC_RELEASE);
  for (size_t i = 0; i < ntab;) {
    if (excluded_pc(tab[i].pc)) tab[i] = tab[--ntab];
    else i++;
  }
  table_unlock(&old);
  pthread_atfork(fork_prepare, fork_release, fork_release);
}

/* ---- roots ---- */
void rc_mappings_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx)
{
  if (!tab) return;
  static const struct rc_root_range range = {.kind = RC_ROOT_MAPPING, .part = RC_PART_MAPPING};
  const struct rc_map *m = (const struct rc_map *)maps->data;
  for (size_t i = 0; i < ntab; i++) {
    uintptr_t lo = tab[i].lo, hi = tab[i].hi;
    if (rc_threads_stack_overlaps(lo, hi) || GC_is_heap_ptr((void *)lo)) continue;
    for (size_t k = 0; k < maps->len; k++) {
      if (m[k].hi <= lo) continue;
      if (m[k].lo >= hi) break;
      uintptr_t a = lo > m[k].lo ? lo : m[k].lo, b = hi < m[k].hi ? hi : m[k].hi;
      if ((m[k].prot & 3) == 3 && a < b) rc_root_piece(&m[k], fn, ctx, a, b, &range);
    }
  }
}

bool rc_mapping_info(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uint32_t *stack)
{
  for (size_t i = 0; tab && i < ntab; i++)
    if (addr >= tab[i].lo && addr < tab[i].hi) {
      *lo = tab[i].lo;
      *hi = tab[i].hi;
      *stack = tab[i].stack;
      return true;
    }
  return false;
}

