/* libdw (elfutils), loaded on first use instead of at start-up.
 *
 * The runtime needs libdw only to symbolize (file:line, inline chains,
 * static variables' names), and a process without leaks never does. Linked
 * as a dependency, libdw and what it pulls in (libelf, liblzma, libbz2)
 * cost every preloaded process ~1.5 ms of its start-up (docs/design.md,
 * "Report"). So the runtime does not link it: rc_dw_load() dlopens it
 * (RTLD_LOCAL: the program's own lookups never bind to it) and fills rc_dw
 * with the functions the symbolizer calls, as rc_dw.dwfl_begin(...).
 * The runtime is linked with --no-undefined and without libdw, so a direct
 * call that bypasses the table fails the build.
 *
 * Where loading is not safe, it must have happened before: a forked
 * check's child may have been forked while a stopped thread held ld.so's
 * load lock, so core/check loads libdw before such a fork and forbids
 * loading in the child (rc_dw_forbid_load), where a symbolizer then gets
 * false and reads no debug information rather than hanging. */
#ifndef RC_SYMBOLS_DW_H
#define RC_SYMBOLS_DW_H
#include <stdbool.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include "base/base.h"

#define RC_DW_FUNCTIONS(X) \
  X(dwfl_begin) X(dwfl_end) X(dwfl_report_begin) X(dwfl_report_elf) X(dwfl_report_end) \
  X(dwfl_module_getsymtab) X(dwfl_module_getsym_info) X(dwfl_module_addrinfo) X(dwfl_module_getsrc) \
  X(dwfl_lineinfo) X(dwfl_module_addrdie) X(dwfl_module_nextcu) X(dwfl_build_id_find_debuginfo) \
  X(dwfl_offline_section_address) \
  X(dwarf_attr) X(dwarf_attr_integrate) X(dwarf_child) X(dwarf_diename) X(dwarf_filesrc) \
  X(dwarf_formstring) X(dwarf_formudata) X(dwarf_getlocation) X(dwarf_getscopes) X(dwarf_getscopes_die) \
  X(dwarf_getsrcfiles) X(dwarf_siblingof) X(dwarf_tag)

enum { RC_DW_N = 0 RC_DW_FUNCTIONS(RC_DL_ONE) };
/* The functions by name, and as the array base/dl.c fills. */
union rc_dw_api {
  struct {
    RC_DW_FUNCTIONS(RC_DL_FIELD)
  };
  void *fn[RC_DW_N];
};
/* Valid once rc_dw_load() returned true; never changes after. */
extern union rc_dw_api rc_dw;

/* Loads libdw once (thread-safe; later calls are one atomic load). False
 * when it cannot be loaded (not installed, a function missing) or loading
 * is forbidden here and it was not loaded before: the caller then reads
 * no debug information. Not async-signal-safe. */
bool rc_dw_load(void);
/* From now on in this process, rc_dw_load() loads nothing (see above). */
void rc_dw_forbid_load(void);
#endif
