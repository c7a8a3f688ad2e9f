/* Libraries loaded on first use (see base.h, rc_dl_resolve). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include "base/base.h"

bool rc_dl_resolve(const char *soname, const char *const *names, void **fns, size_t n)
{
  /* RTLD_LOCAL: the program's own lookups never bind to it. Never
   * dlclose'd: what the library hands out lives as long as the process. */
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) return false;
  for (size_t i = 0; i < n; i++)
    if (!(fns[i] = dlsym(h, names[i]))) return false;
  return true;
}

bool rc_dl_load(struct rc_dl_lib *lib)
{
  if (__atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE)) return true;
  rc_in_runtime++;
  pthread_once(&lib->once, lib->load);
  rc_in_runtime--;
  return __atomic_load_n(&lib->loaded, __ATOMIC_ACQUIRE);
}

bool rc_dl_holds(const struct dl_phdr_info *info, uintptr_t a, size_t n)
{
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && a >= lo && n <= ph->p_memsz && a - lo <= ph->p_memsz - n) return true;
  }
  return false;
}
