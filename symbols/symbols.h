/* The symbols layer: loaded modules and their history (symbols/modules.c),
 * pc -> function, file, line (symbols/symbolize.c, libdw), ELF symbol
 * tables read by hand for the world-stopped and forked paths
 * (symbols/elfsyms.c) and C++ demangling (symbols/demangle.c). Uses base/
 * and stack/. */
#ifndef RC_SYMBOLS_H
#define RC_SYMBOLS_H
#include "base/base.h"
#include "stack/stack.h"

struct rc_frame_info {
  uintptr_t pc;
  const char *module;      /* path, never NULL ("?" if unknown) */
  uintptr_t offset;        /* pc - module load bias */
  char function[256];      /* demangled, "" if unknown */
  const char *file;        /* NULL if unknown */
  int line;
};
void rc_modules_refresh(void);             /* dl_iterate_phdr; call after dlopen/dlclose */
/* Module containing pc for a stack captured in depot generation gen. */
bool rc_module_lookup(uintptr_t pc, uint32_t gen, const char **path, uintptr_t *bias);
void rc_symbolize(uintptr_t pc, uint32_t gen, struct rc_frame_info *out);
void rc_modules_lock(void);               /* held across fork */
void rc_modules_unlock(void);

/* Symbol classes of rc_elf_sym (symbols/elfsyms.c). */
enum { RC_SYM_DATA, RC_SYM_TLS, RC_SYM_FUNC };
/* The symbol of class cls containing vaddr in the ELF file at path (.symtab,
 * else .dynsym), read with open+mmap and cached for the process: usable with
 * the world stopped and in a forked copy. *name stays valid forever. */
bool rc_elf_sym(const char *path, int cls, uintptr_t vaddr, const char **name, uintptr_t *start);
/* A word of a writable section no symbol covers (a stripped module: .dynsym
 * only): its region runs from the end of the nearest data symbol before it
 * in the same section (near, at near_off from that symbol's start) or from
 * the section's start (near NULL) to the next symbol. All the words of a
 * region are one root, named "prog:.bss (near stats_state+0x40)". False
 * when the file has no section headers or vaddr is in no writable section. */
struct rc_elf_region { uintptr_t start; const char *section, *near; uintptr_t near_off; };
bool rc_elf_region(const char *path, uintptr_t vaddr, struct rc_elf_region *out);
/* Demangle a C++ symbol name into out (a copy of name when it is not one,
 * or no C++ runtime is loaded). Never allocates from the checked heap. */
void rc_demangle(const char *name, char *out, size_t n);
/* "f::counter" for the static local whose symbol is sym ("counter.0") at
 * vaddr in the module file at path, from its DWARF; false if not one. */
bool rc_static_local_name(const char *path, const char *sym, uintptr_t vaddr, char *out, size_t n);
int rc_symbolize_inline(uintptr_t pc, uint32_t gen, struct rc_frame_info *out, int max);
#endif
