/* Offline symbolization of the raw frames a snapshot's forked copy wrote
 * (module + offset): one libdwfl session per module file, local debug files
 * only (no debuginfod, as in symbols/symbolize.c), C++ names demangled through
 * libstdc++ if present. */
#define _GNU_SOURCE
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>
#include "tool_common.h"
#include "symbols/dwfl_local.h"

const char *tsym_demangle(const char *name)
{
  bool cxx = name[0] == '_' && name[1] == 'Z';
  char *d = rc_symbol_display(name, cxx ? rc_demangler(true) : NULL);
  return d ? d : txstrdup(name);
}

static struct tmap modules;   /* path -> Dwfl_Module (or a sentinel) */
static char no_module;

static Dwfl_Module *module_of(const char *path)
{
  void *m = tmap_get(&modules, path);
  if (m) return m == &no_module ? NULL : m;
  Dwfl_Module *mod = NULL;
  Dwfl *dwfl = path[0] == '/' ? dwfl_begin(&rc_dwfl_local_callbacks) : NULL;
  if (dwfl) {
    dwfl_report_begin(dwfl);
    /* base 0 + p_vaddr: module addresses are the offsets the runtime wrote */
    mod = dwfl_report_elf(dwfl, path, path, -1, 0, true);
    dwfl_report_end(dwfl, NULL, NULL);
    if (!mod) dwfl_end(dwfl);
  }
  tmap_put_copy(&modules, path, mod ? (void *)mod : &no_module);
  return mod;
}

void tframe_symbolize(struct tframe *f)
{
  if (f->done) return;
  f->done = true;
  Dwfl_Module *m = f->module ? module_of(f->module) : NULL;
  const char *name = NULL;
  if (m) {
    /* a return address: look up the call instruction before it */
    Dwarf_Addr a = f->offset ? f->offset - 1 : 0;
    GElf_Off off;
    GElf_Sym sym;
    name = dwfl_module_addrinfo(m, a, &off, &sym, NULL, NULL, NULL);
    Dwfl_Line *line = dwfl_module_getsrc(m, a);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
      f->file = txstrdup(file);
      f->line = lineno;
    }
  }
  if (name) f->function = tsym_demangle(name);
  else if (f->function && f->function[0]) f->function = tsym_demangle(f->function);
}

const char *tsite_label(struct tsite *s, char *buf, size_t n)
{
  if (!s || !s->nframes) {
    snprintf(buf, n, "%s", s ? "<no stack>" : "other sites");
    return buf;
  }
  struct tframe *f = &s->frames[0];
  tframe_symbolize(f);
  const char *fn = f->function && f->function[0] ? f->function : "??";
  if (f->file) snprintf(buf, n, "%s %s:%d", fn, tbase(f->file), f->line);
  else snprintf(buf, n, "%s (%s+0x%llx)", fn, tbase(f->module), f->offset);
  return buf;
}
