/* Globals of every loaded module: the writable PT_LOAD segments (.data, .bss,
 * .got, relro) enumerated with dl_iterate_phdr at check time, never cached,
 * so a dlclose'd library stops being a root. reachcheck's own module and the
 * libraries it uses for bookkeeping (Boehm GC, libunwind, libdw) are skipped:
 * their state must never keep a user block alive. libdw is no dependency
 * (the symbolizer loads it on first use, symbols/dw.h), so it is known by
 * its soname; a program that uses libdw itself shares that copy, as it did
 * when libdw was linked. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <gc/gc.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include "scanners/scanners.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

struct scan_ctx { const struct rc_vec *maps; rc_root_fn fn; void *ctx; };

static bool is_libdw(const char *path)
{
  if (!path) return false;
  const char *b = strrchr(path, '/');
  return strcmp(b ? b + 1 : path, "libdw.so.1") == 0;
}

static int excluded_module(struct dl_phdr_info *info)
{
  if (is_libdw(info->dlpi_name)) return 1;
  static const void *probes[4];
  if (!probes[0]) {
    probes[1] = (const void *)(uintptr_t)&GC_base;
    probes[2] = (const void *)(uintptr_t)&unw_backtrace;
    probes[3] = (const void *)(uintptr_t)&rc_now_ms;
    probes[0] = (const void *)&rc_opt;
  }
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
    if (rc_dl_holds(info, (uintptr_t)probes[i], 1)) return 1;
  return 0;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  struct scan_ctx *c = arg;
  if (excluded_module(info)) return 0;
  const char *name = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "<main executable>";
  const struct rc_root_range r = {.kind = RC_ROOT_GLOBAL, .part = RC_PART_SEGMENT, .module = name};
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    rc_root_clipped(c->maps, c->fn, c->ctx, lo & ~(uintptr_t)7, lo + ph->p_memsz, &r);
  }
  return 0;
}

void rc_globals_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx)
{
  struct scan_ctx c = {maps, fn, ctx};
  dl_iterate_phdr(module_cb, &c);
}
