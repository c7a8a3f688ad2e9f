/* Libraries loaded on first use (see base.h, rc_dl_resolve). */
#define _GNU_SOURCE
#include <dlfcn.h>
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
