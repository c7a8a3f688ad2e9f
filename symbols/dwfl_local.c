/* Shared by the runtime's symbolizer and the offline tools: libdwfl
 * callbacks that find separate debug files on local disk only, and the one
 * demangler lookup. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "symbols/dw.h"
#include "symbols/dwfl_local.h"

/* __cxa_demangle, if some C++ runtime is loaded. A C host that dlopen'ed a
 * C++ plugin RTLD_LOCAL has it only in local scope, hence RTLD_NOLOAD by
 * soname (loads nothing; the reference is kept: libstdc++ is NODELETE anyway
 * because of its STB_GNU_UNIQUE symbols). The offline tools (may_load) load
 * libstdc++ themselves: they are C programs reading a C++ program's names. */
rc_demangle_fn rc_demangler(bool may_load)
{
  static rc_demangle_fn fn;
  rc_demangle_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
  if (f) return f;
  static const char *const libs[] = { "libstdc++.so.6", "libc++abi.so.1", "libc++.so.1" };
  f = (rc_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
  for (size_t i = 0; !f && i < sizeof libs / sizeof libs[0]; i++) {
    void *h = dlopen(libs[i], RTLD_LAZY | (may_load ? 0 : RTLD_NOLOAD));
    if (h) f = (rc_demangle_fn)dlsym(h, "__cxa_demangle");
  }
  if (f) __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
  return f;
}

char *rc_symbol_display(const char *name, rc_demangle_fn fn)
{
  /* .symtab of glibc's debug files names versioned symbols; '@' occurs in
   * no C or C++ name. */
  const char *at = strchr(name, '@');
  size_t n = at ? (size_t)(at - name) : strlen(name);
  char *plain = malloc(n + 1);
  if (!plain) return NULL;
  memcpy(plain, name, n);
  plain[n] = 0;
  if (fn && plain[0] == '_' && plain[1] == 'Z') {
    int status = -1;
    char *d = fn(plain, NULL, NULL, &status);
    if (d && status == 0) {
      free(plain);
      return d;
    }
    free(d);
  }
  return plain;
}

/* Separate debug files from local disk only. dwfl_standard_find_debuginfo
 * would, for every module without local debug info (libc without -dbgsym),
 * dlopen libdebuginfod.so.1 (elfutils 0.188, with libcurl & co.) and, when
 * DEBUGINFOD_URLS is set (Debian's profile.d sets it), download in the
 * middle of a leak report. So: build-id under /usr/lib/debug, then
 * .gnu_debuglink in the places GDB looks. */
static int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                              Dwarf_Addr base, const char *file, const char *debuglink,
                              GElf_Word crc, char **debuginfo_file)
{
  if (!rc_dw_load()) return -1;   /* a tool that links libdw calls these without having loaded the table */
  int fd = rc_dw.dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc,
                                        debuginfo_file);
  const char *slash = file ? strrchr(file, '/') : NULL;
  if (fd >= 0 || !debuglink || !slash) return fd;
  static const char *const where[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
  for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
    char buf[PATH_MAX];
    int n = snprintf(buf, sizeof buf, where[i], (int)(slash - file), file, debuglink);
    if (n <= 0 || (size_t)n >= sizeof buf || strcmp(buf, file) == 0) continue;
    fd = open(buf, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    *debuginfo_file = strdup(buf);  /* libdwfl frees it */
    return fd;
  }
  return -1;
}

/* Only reached for modules reported without a file, which we never do; the
 * standard one (dwfl_build_id_find_elf) would also try debuginfod. */
static int sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname,
                        Dwarf_Addr base, char **file_name, Elf **elfp)
{
  (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
  return -1;
}

/* libdwfl's own, through the loaded table (symbols/dw.h). */
static int sym_section_address(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                               const char *secname, GElf_Word shndx, const GElf_Shdr *shdr, Dwarf_Addr *addr)
{
  if (!rc_dw_load()) return -1;
  return rc_dw.dwfl_offline_section_address(mod, userdata, modname, base, secname, shndx, shdr, addr);
}

const Dwfl_Callbacks rc_dwfl_local_callbacks = {
  .find_elf = sym_find_elf,
  .find_debuginfo = sym_find_debuginfo,
  .section_address = sym_section_address,
  .debuginfo_path = NULL,  /* default ":.debug:/usr/lib/debug" */
};
