/* libdwfl callbacks: local debug files only (no debuginfod downloads). */
#ifndef RC_DWFL_LOCAL_H
#define RC_DWFL_LOCAL_H
#include <stdbool.h>
#include <elfutils/libdwfl.h>
/* Their own calls into libdw go through rc_dw (symbols/dw.h), which they
 * load if nobody did. */
extern const Dwfl_Callbacks rc_dwfl_local_callbacks;

/* __cxa_demangle's signature; each binary finds it its own way. */
typedef char *(*rc_demangle_fn)(const char *, char *, size_t *, int *);
/* The loaded C++ runtime's __cxa_demangle, or NULL (may_load: dlopen
 * libstdc++ if none is loaded; the offline tools only). */
rc_demangle_fn rc_demangler(bool may_load);
/* A symbol's display name: without its ELF version suffix
 * ("__libc_start_main@@GLIBC_2.34"), demangled by fn (may be NULL) when it is
 * a C++ name. malloc'd; the caller frees it. NULL when out of memory. */
char *rc_symbol_display(const char *name, rc_demangle_fn fn);
#endif
