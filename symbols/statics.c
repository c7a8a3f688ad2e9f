/* Names of static local variables: gcc names `static int n;` in f() `n.0`
 * in the symbol table, and only DWARF says it belongs to f. Report time
 * only: libdw mallocs (under rc_in_runtime, so internally). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include "symbols/symbols.h"
#include "symbols/dw.h"
#include "symbols/dwfl_local.h"

/* gcc names a static local `name.N` in the symbol table; the function it
 * belongs to is only in DWARF: find the DW_TAG_variable whose location is
 * the symbol's address, under its DW_TAG_subprogram. Report time only
 * (libdw mallocs); results are cached. */
static bool die_addr_is(Dwarf_Die *die, Dwarf_Addr want, Dwarf_Addr bias)
{
  Dwarf_Attribute attr;
  Dwarf_Op *ops;
  size_t nops;
  if (!rc_dw.dwarf_attr(die, DW_AT_location, &attr) || rc_dw.dwarf_getlocation(&attr, &ops, &nops) || nops != 1) return false;
  return ops[0].atom == DW_OP_addr && ops[0].number + bias == want;
}

static bool find_local(Dwarf_Die *die, Dwarf_Addr want, Dwarf_Addr bias, Dwarf_Die *fn, int depth, char *out, size_t n)
{
  Dwarf_Die child;
  if (depth > 64 || rc_dw.dwarf_child(die, &child)) return false;
  do {
    int tag = rc_dw.dwarf_tag(&child);
    if (tag == DW_TAG_variable && fn && die_addr_is(&child, want, bias)) {
      const char *fname = NULL;
      Dwarf_Attribute a;
      const char *link = rc_dw.dwarf_formstring(rc_dw.dwarf_attr_integrate(fn, DW_AT_linkage_name, &a));
      char buf[256];
      if (link) {
        rc_demangle(link, buf, sizeof buf);
        fname = buf;
      } else {
        fname = rc_dw.dwarf_diename(fn);
      }
      const char *vname = rc_dw.dwarf_diename(&child);
      if (!fname || !vname) return false;
      snprintf(out, n, "%s::%s", fname, vname);
      return true;
    }
    if (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block || tag == DW_TAG_namespace ||
        tag == DW_TAG_class_type || tag == DW_TAG_structure_type || tag == DW_TAG_inlined_subroutine) {
      Dwarf_Die *scope = tag == DW_TAG_subprogram ? &child : fn;
      Dwarf_Die copy = child;
      if (tag == DW_TAG_subprogram) {
        if (find_local(&copy, want, bias, &copy, depth + 1, out, n)) return true;
      } else if (find_local(&copy, want, bias, scope, depth + 1, out, n)) {
        return true;
      }
    }
  } while (!rc_dw.dwarf_siblingof(&child, &child));
  return false;
}

struct local_name { const char *path; uintptr_t vaddr; char name[320]; bool found; };
static struct local_name local_cache[64];
static int local_n;
static pthread_mutex_t local_lock = PTHREAD_MUTEX_INITIALIZER;

bool rc_static_local_name(const char *path, const char *sym, uintptr_t vaddr, char *out, size_t n)
{
  const char *dot = strrchr(sym, '.');
  if (!dot || dot == sym || !dot[1]) return false;
  for (const char *c = dot + 1; *c; c++)
    if (*c < '0' || *c > '9') return false;
  pthread_mutex_lock(&local_lock);
  for (int i = 0; i < local_n; i++)
    if (local_cache[i].vaddr == vaddr && !strcmp(local_cache[i].path, path)) {
      bool found = local_cache[i].found;
      if (found) snprintf(out, n, "%s", local_cache[i].name);
      pthread_mutex_unlock(&local_lock);
      return found;
    }
  struct local_name tmp = {path, vaddr, "", false};
  rc_in_runtime++;
  Dwfl *dwfl = rc_dw_load() ? rc_dw.dwfl_begin(&rc_dwfl_local_callbacks) : NULL;
  if (dwfl) {
    rc_dw.dwfl_report_begin(dwfl);
    Dwfl_Module *mod = rc_dw.dwfl_report_elf(dwfl, path, path, -1, 0, true);
    rc_dw.dwfl_report_end(dwfl, NULL, NULL);
    Dwarf_Die *cu = NULL;
    Dwarf_Addr bias = 0;
    while (mod && !tmp.found && (cu = rc_dw.dwfl_module_nextcu(mod, cu, &bias)))
      tmp.found = find_local(cu, vaddr, bias, NULL, 0, tmp.name, sizeof tmp.name);
    rc_dw.dwfl_end(dwfl);
  }
  rc_in_runtime--;
  if (local_n < 64) local_cache[local_n++] = tmp;
  pthread_mutex_unlock(&local_lock);
  if (tmp.found) snprintf(out, n, "%s", tmp.name);
  return tmp.found;
}

