/* pc + depot generation -> module+offset, function, file:line, with one
 * libdwfl session per module, opened from the file on disk (so a module that
 * has since been dlclose'd still symbolizes). Report time only: libdw mallocs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "symbols/dw.h"
#include "symbols/dwfl_local.h"

/* A function symbol: [lo, hi) in the process (hi == lo: size unknown,
 * up to the next symbol). */
struct msym {
  uint64_t lo, hi;
  const char *name;        /* in the session's string table */
  int rank;                /* 0 global, 1 weak, 2 local, +3 untyped: the name to show of several */
};

struct sym_mod {
  const char *path;        /* the module table's string, lives forever */
  uintptr_t bias;
  Dwfl *dwfl;              /* NULL: nothing to read (no file, not ELF) */
  Dwfl_Module *mod;
  /* dwfl_module_addrinfo scans every symbol for each address (libc's debug
   * symtab: ~20k, 25 ms for one report of a shell); sorted once instead. */
  struct msym *syms;
  size_t nsyms;
  bool syms_read;
};

static struct rc_vec sym_cache;  /* struct sym_mod */
static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sym_once = PTHREAD_ONCE_INIT;

/* A fork while another thread symbolizes would leave the child's sym_lock
 * held for good (and its at-exit report hung). Registered on first use, so
 * after runtime/init.c's handlers: prepare handlers run in reverse order, so
 * sym_lock is taken before the heap locks, the order rc_symbolize uses
 * (it mallocs while holding sym_lock). */
static void sym_lock_fork(void) { pthread_mutex_lock(&sym_lock); }
static void sym_unlock_fork(void) { pthread_mutex_unlock(&sym_lock); }
static void sym_register_fork(void) { pthread_atfork(sym_lock_fork, sym_unlock_fork, sym_unlock_fork); }


/* The session for (path, bias), opened on first use; failures are cached too
 * so a missing file costs one open. */
static struct sym_mod *sym_module_locked(const char *path, uintptr_t bias)
{
  if (!sym_cache.elem) rc_vec_init(&sym_cache, sizeof(struct sym_mod));
  struct sym_mod *all = (struct sym_mod *)sym_cache.data;
  for (size_t i = 0; i < sym_cache.len; i++)
    if (all[i].bias == bias && strcmp(all[i].path, path) == 0) return &all[i];
  struct sym_mod *m = rc_vec_push(&sym_cache);
  if (!m) return NULL;
  m->path = path;
  m->bias = bias;
  if (path[0] != '/' || !rc_dw_load() || !(m->dwfl = rc_dw.dwfl_begin(&rc_dwfl_local_callbacks)))
    return m;  /* [vdso], ?, or no libdw */
  rc_dw.dwfl_report_begin(m->dwfl);
  /* add_p_vaddr: `base` is the load bias (l_addr), as ld.so applied it. */
  m->mod = rc_dw.dwfl_report_elf(m->dwfl, path, path, -1, bias, true);
  rc_dw.dwfl_report_end(m->dwfl, NULL, NULL);
  if (!m->mod) {
    rc_dw.dwfl_end(m->dwfl);
    m->dwfl = NULL;
  }
  return m;
}

static int msym_cmp(const void *a, const void *b)
{
  const struct msym *x = a, *y = b;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  return x->rank - y->rank;
}
/* The same order as one number, for rc_radix_sort: rank takes the low three
 * bits (it is below 8), lo the rest (below 2^61, checked by the caller). */
#define MSYM_LO_MAX ((uint64_t)1 << 61)
static uint64_t msym_key(const void *a)
{
  const struct msym *x = a;
  return x->lo << 3 | (uint64_t)x->rank;
}

static void sym_read_locked(struct sym_mod *m)
{
  m->syms_read = true;
  int n = rc_dw.dwfl_module_getsymtab(m->mod);
  if (n <= 1) return;
  m->syms = malloc(sizeof *m->syms * (size_t)n);   /* under rc_in_runtime: internal */
  if (!m->syms) return;
  bool small = true;   /* every lo fits msym_key */
  for (int i = 1; i < n; i++) {
    GElf_Sym sym;
    GElf_Addr addr;
    const char *name = rc_dw.dwfl_module_getsym_info(m->mod, i, &sym, &addr, NULL, NULL, NULL);
    int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
    /* NOTYPE: assembler labels such as ld.so's _dl_start_user */
    if (!name || !*name || sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS ||
        (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
      continue;
    m->syms[m->nsyms++] = (struct msym){addr, addr + sym.st_size, name,
                                        (type == STT_NOTYPE ? 3 : 0) + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2)};
    small &= addr < MSYM_LO_MAX;
  }
  /* python3.11's 12k symbols: 7.5M instructions in qsort (glibc's merge
   * sort, a call per comparison), 1.7M in the radix sort */
  if (!small || !rc_radix_sort(m->syms, m->nsyms, sizeof *m->syms, msym_key))
    qsort(m->syms, m->nsyms, sizeof *m->syms, msym_cmp);
}

/* The function containing address a, or NULL. Of several symbols at one
 * address the global one wins, as with dwfl_module_addrinfo. */
static const char *sym_lookup_locked(struct sym_mod *m, uint64_t a)
{
  if (!m->syms_read) sym_read_locked(m);
  size_t lo = 0, hi = m->nsyms;
  while (lo < hi) {   /* first symbol starting above a */
    size_t mid = lo + (hi - lo) / 2;
    if (m->syms[mid].lo <= a) lo = mid + 1;
    else hi = mid;
  }
  /* Candidates start at or below a; nested or overlapping symbols are rare,
   * so look back a little for one whose range holds a. */
  for (size_t i = lo, k = 0; i-- > 0 && k < 16; k++) {
    const struct msym *x = &m->syms[i];
    uint64_t start = x->lo;
    while (i > 0 && m->syms[i - 1].lo == start) x = &m->syms[--i];   /* best rank first after sort */
    if (x->hi > a) return x->name;
    if (x->hi == x->lo && k == 0) return x->name;   /* no size: up to the next symbol */
  }
  return NULL;
}

static void sym_copy(char *dst, size_t cap, const char *src)
{
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = 0;
}

static void sym_function_locked(const char *name, char *out, size_t cap)
{
  bool cxx = name[0] == '_' && name[1] == 'Z';
  char *d = rc_symbol_display(name, cxx ? rc_demangler(false) : NULL);
  sym_copy(out, cap, d ? d : name);
  free(d);  /* malloc'd under rc_in_runtime: an internal block */
}

/* glibc's own frames (libc.so.6, ld.so) keep their function names but get
 * no file:line unless libc_lines=1: with libc6-dbg installed, libdw inflates
 * all of libc's compressed DWARF for the first one, 17 MiB and about 50 ms in
 * every process that writes a report (a shell script forks dozens), for
 * lines like strdup.c:42 that rarely help. */
static bool sym_glibc_module(const char *path)
{
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  return strcmp(b, "libc.so.6") == 0 || strncmp(b, "ld-linux", 8) == 0;
}

/* The last answers, by pc and generation (which fix the module, its file
 * and its bias, so an answer never goes stale): a report prints a stack
 * once per table it appears in (retainers, peak, sites, timeline), and the
 * tables share their frames. python3's JSON report symbolized ~800 frames,
 * ~170 of them distinct. Direct-mapped, a slot overwritten on collision:
 * bounded memory for a long-lived program's endpoint. Under sym_lock. */
#define SYMC_BITS 12
struct symc { uintptr_t pc; uint32_t gen; int line; const char *file; char function[sizeof(((struct rc_frame_info *)0)->function)]; };
static struct symc *symc;   /* rc_mmap'd on first use: pages touched as slots fill */

static struct symc *symc_slot(uintptr_t pc, uint32_t gen)
{
  if (!symc && !(symc = rc_mmap(sizeof(struct symc) << SYMC_BITS))) return NULL;
  uint64_t h = ((uint64_t)pc ^ (uint64_t)gen << 47) * 0x9e3779b97f4a7c15ull;
  return &symc[h >> (64 - SYMC_BITS)];
}

/* out->file points into the module's session, which lives as long as the process. */
void rc_symbolize(uintptr_t pc, uint32_t gen, struct rc_frame_info *out)
{
  out->pc = pc;
  out->module = "?";
  out->offset = pc;
  out->function[0] = 0;
  out->file = NULL;
  out->line = 0;
  const char *path;
  uintptr_t bias;
  if (!rc_module_lookup(pc, gen, &path, &bias)) {
    /* Loaded since the last refresh? Only possible in the current generation:
     * every generation change refreshes and so records all loaded modules. */
    if (gen != rc_stack_generation()) return;
    rc_modules_refresh();
    if (!rc_module_lookup(pc, gen, &path, &bias)) return;
  }
  out->module = path;
  out->offset = pc - bias;
  rc_in_runtime++;
  pthread_once(&sym_once, sym_register_fork);
  pthread_mutex_lock(&sym_lock);
  struct symc *c = symc_slot(pc, gen);
  if (c && c->pc == pc && c->gen == gen && pc) {
    memcpy(out->function, c->function, strlen(c->function) + 1);
    out->file = c->file;
    out->line = c->line;
    pthread_mutex_unlock(&sym_lock);
    rc_in_runtime--;
    return;
  }
  struct sym_mod *m = sym_module_locked(path, bias);
  if (m && m->mod) {
    /* Every captured pc but the innermost is a return address, which may be
     * the first byte of the next line or function: look up the call. */
    Dwarf_Addr a = pc ? pc - 1 : pc;
    const char *name = sym_lookup_locked(m, a);
    if (name) sym_function_locked(name, out->function, sizeof out->function);
    Dwfl_Line *line = rc_opt.libc_lines || !sym_glibc_module(path) ? rc_dw.dwfl_module_getsrc(m->mod, a) : NULL;
    int lineno = 0;
    const char *file = line ? rc_dw.dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
      out->file = file;
      out->line = lineno;
    }
  }
  if (c) {
    c->pc = pc;
    c->gen = gen;
    c->file = out->file;
    c->line = out->line;
    memcpy(c->function, out->function, strlen(out->function) + 1);
  }
  pthread_mutex_unlock(&sym_lock);
  rc_in_runtime--;
}

void rc_demangle(const char *name, char *out, size_t n)
{
  bool cxx = name[0] == '_' && name[1] == 'Z';
  rc_in_runtime++;
  char *d = rc_symbol_display(name, cxx ? rc_demangler(false) : NULL);
  sym_copy(out, n, d ? d : name);
  free(d);   /* malloc'd under rc_in_runtime: an internal block */
  rc_in_runtime--;
}

/* ---- inline chains for pprof locations (profile/) ---- */
#include <dwarf.h>
#include <elfutils/libdw.h>

/* Name of a subprogram or inlined subroutine DIE (through its abstract
 * origin), demangled, into out; false when it has none. */
static bool die_name_locked(Dwarf_Die *die, char *out, size_t cap)
{
  Dwarf_Attribute attr;
  const char *name = NULL;
  if (rc_dw.dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) || rc_dw.dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr))
    name = rc_dw.dwarf_formstring(&attr);
  if (!name && rc_dw.dwarf_attr_integrate(die, DW_AT_name, &attr)) name = rc_dw.dwarf_formstring(&attr);
  if (!name) return false;
  sym_function_locked(name, out, cap);
  return true;
}

/* call_file:call_line of an inlined subroutine DIE into f. */
static void call_site_locked(Dwarf_Die *inl, Dwarf_Files *files, size_t nfiles, struct rc_frame_info *f)
{
  Dwarf_Attribute attr;
  Dwarf_Word w;
  f->file = NULL;
  f->line = 0;
  if (files && rc_dw.dwarf_attr(inl, DW_AT_call_file, &attr) && !rc_dw.dwarf_formudata(&attr, &w) && w < nfiles)
    f->file = rc_dw.dwarf_filesrc(files, w, NULL, NULL);
  if (rc_dw.dwarf_attr(inl, DW_AT_call_line, &attr) && !rc_dw.dwarf_formudata(&attr, &w)) f->line = (int)w;
}

int rc_symbolize_inline(uintptr_t pc, uint32_t gen, struct rc_frame_info *out, int max)
{
  rc_symbolize(pc, gen, &out[0]);
  if (max < 2 || !out[0].file || out[0].module[0] != '/') return 1;
  const char *path;
  uintptr_t bias;
  if (!rc_module_lookup(pc, gen, &path, &bias)) return 1;
  int n = 1;
  rc_in_runtime++;
  pthread_mutex_lock(&sym_lock);
  struct sym_mod *m = sym_module_locked(path, bias);
  Dwarf_Addr dbias = 0, a = pc ? pc - 1 : pc;
  Dwarf_Die *cu = m && m->mod ? rc_dw.dwfl_module_addrdie(m->mod, a, &dbias) : NULL;
  Dwarf_Die *scopes = NULL, *chain = NULL;
  int ns = cu ? rc_dw.dwarf_getscopes(cu, a - dbias, &scopes) : 0;
  Dwarf_Files *files = NULL;
  size_t nfiles = 0;
  if (ns > 0 && rc_dw.dwarf_getsrcfiles(cu, &files, &nfiles)) files = NULL;
  /* the innermost function scope; when it is an inlined subroutine, its
   * concrete nesting (dwarf_getscopes_die, as eu-addr2line -i walks it)
   * names each caller out to the physical function, and each inlined
   * DIE's call_file:call_line is the line in its caller */
  int i0 = 0;
  while (i0 < ns && rc_dw.dwarf_tag(&scopes[i0]) != DW_TAG_inlined_subroutine && rc_dw.dwarf_tag(&scopes[i0]) != DW_TAG_subprogram) i0++;
  if (i0 < ns && rc_dw.dwarf_tag(&scopes[i0]) == DW_TAG_inlined_subroutine && die_name_locked(&scopes[i0], out[0].function, sizeof out[0].function)) {
    char phys[sizeof out[0].function];
    snprintf(phys, sizeof phys, "%s", "");
    int nc = rc_dw.dwarf_getscopes_die(&scopes[i0], &chain);
    Dwarf_Die *prev = &scopes[i0];
    for (int j = 1; j < nc && n < max; j++) {
      int t = rc_dw.dwarf_tag(&chain[j]);
      if (t != DW_TAG_inlined_subroutine && t != DW_TAG_subprogram) continue;
      struct rc_frame_info *f = &out[n++];
      *f = out[0];
      call_site_locked(prev, files, nfiles, f);
      if (!die_name_locked(&chain[j], f->function, sizeof f->function)) f->function[0] = 0;
      prev = &chain[j];
      if (t == DW_TAG_subprogram) break;
    }
  }
  free(scopes);   /* libdw's malloc under rc_in_runtime: internal blocks */
  free(chain);
  pthread_mutex_unlock(&sym_lock);
  rc_in_runtime--;
  /* the physical function keeps the symbol table's name, as rc_symbolize
   * gives it (DWARF may lack a linkage name) */
  if (n > 1) {
    struct rc_frame_info phys;
    rc_symbolize(pc, gen, &phys);
    if (phys.function[0]) memcpy(out[n - 1].function, phys.function, sizeof phys.function);
  }
  return n;
}
