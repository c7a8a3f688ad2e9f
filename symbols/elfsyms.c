/* Symbol tables of loaded modules, read straight from their files (open +
 * mmap, .symtab else .dynsym, sorted into mmap'd arrays): a symbol lookup
 * that takes no lock and never mallocs, so it works with the world stopped
 * and in a snapshot's forked copy, where libdw and dladdr must not run. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "symbols/symbols.h"

struct esym { uint64_t value, size; uint32_t name, shndx; };
struct elf_file {
  const char *path;
  const char *strtab;
  size_t strsz;
  struct esym *sym[3];
  size_t nsym[3];
  /* section headers (kept even without symbols: a stripped module's
   * globals are named by section) */
  const ElfW(Shdr) *sh;
  unsigned shnum;
  const char *shstr;
  size_t shstrsz;
};
#define ELF_MAX 1024
/* Append-only and lock-free: a reader never waits for a thread that may be
 * stopped; two threads loading the same file just load it twice. */
static struct elf_file *elf_files[ELF_MAX];
static uint32_t elf_count;

static void esym_sift(struct esym *a, size_t i, size_t n)
{
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && a[c + 1].value > a[c].value) c++;
    if (a[i].value >= a[c].value) return;
    struct esym t = a[i];
    a[i] = a[c];
    a[c] = t;
    i = c;
  }
}

static uint64_t esym_key(const void *a) { return ((const struct esym *)a)->value; }

/* Radix sort (mmap'd scratch), or a heapsort when that cannot be had: qsort
 * may malloc (glibc's msort for large arrays). */
static void esym_sort(struct esym *a, size_t n)
{
  if (rc_radix_sort(a, n, sizeof *a, esym_key)) return;
  for (size_t i = n / 2; i-- > 0;) esym_sift(a, i, n);
  for (size_t e = n; e-- > 1;) {
    struct esym t = a[0];
    a[0] = a[e];
    a[e] = t;
    esym_sift(a, 0, e);
  }
}

static int sym_class(unsigned type)
{
  switch (type) {
  case STT_OBJECT: case STT_COMMON: return RC_SYM_DATA;
  case STT_TLS: return RC_SYM_TLS;
  case STT_FUNC: case STT_GNU_IFUNC: return RC_SYM_FUNC;
  default: return -1;
  }
}

static void elf_read(struct elf_file *f, const char *path)
{
  size_t cnt[3] = {0, 0, 0};   /* before any goto bad: the cleanup reads it */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
    close(fd);
    return;
  }
  size_t len = (size_t)st.st_size;
  const unsigned char *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return;
  const ElfW(Ehdr) *eh = (const void *)map;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_shentsize != sizeof(ElfW(Shdr)) || !eh->e_shoff ||
      eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) > len)
    goto bad;
  const ElfW(Shdr) *sh = (const void *)(map + eh->e_shoff);
  if (eh->e_shstrndx < eh->e_shnum && sh[eh->e_shstrndx].sh_offset + sh[eh->e_shstrndx].sh_size <= len) {
    f->sh = sh;
    f->shnum = eh->e_shnum;
    f->shstr = (const char *)map + sh[eh->e_shstrndx].sh_offset;
    f->shstrsz = sh[eh->e_shstrndx].sh_size;
  }
  int pick = -1;
  for (int i = 0; i < eh->e_shnum; i++)
    if (sh[i].sh_type == SHT_SYMTAB) pick = i;
  for (int i = 0; pick < 0 && i < eh->e_shnum; i++)
    if (sh[i].sh_type == SHT_DYNSYM) pick = i;
  if (pick < 0) goto bad;
  const ElfW(Shdr) *ss = &sh[pick];
  if (ss->sh_link >= eh->e_shnum || ss->sh_entsize != sizeof(ElfW(Sym)) || ss->sh_offset + ss->sh_size > len)
    goto bad;
  const ElfW(Shdr) *str = &sh[ss->sh_link];
  if (str->sh_offset + str->sh_size > len) goto bad;
  const ElfW(Sym) *syms = (const void *)(map + ss->sh_offset);
  size_t n = ss->sh_size / sizeof(ElfW(Sym));
  for (size_t i = 0; i < n; i++) {
    int c = sym_class(ELF64_ST_TYPE(syms[i].st_info));
    if (c >= 0 && syms[i].st_shndx != SHN_UNDEF && syms[i].st_size && syms[i].st_name < str->sh_size) cnt[c]++;
  }
  for (int c = 0; c < 3; c++)
    if (cnt[c] && !(f->sym[c] = rc_mmap(cnt[c] * sizeof(struct esym)))) goto bad;
  for (size_t i = 0; i < n; i++) {
    int c = sym_class(ELF64_ST_TYPE(syms[i].st_info));
    if (c < 0 || syms[i].st_shndx == SHN_UNDEF || !syms[i].st_size || syms[i].st_name >= str->sh_size) continue;
    struct esym *e = &f->sym[c][f->nsym[c]++];
    e->value = syms[i].st_value;
    e->size = syms[i].st_size;
    e->name = syms[i].st_name;
    e->shndx = syms[i].st_shndx;
  }
  for (int c = 0; c < 3; c++) esym_sort(f->sym[c], f->nsym[c]);
  f->strtab = (const char *)map + str->sh_offset;
  f->strsz = str->sh_size;
  return;   /* the mapping stays: names point into it */
bad:
  for (int c = 0; c < 3; c++) {
    rc_munmap(f->sym[c], cnt[c] * sizeof(struct esym));
    f->sym[c] = NULL;
    f->nsym[c] = 0;
  }
  if (!f->sh) munmap((void *)map, len);   /* else the sections still name globals */
}

static struct elf_file *elf_get(const char *path)
{
  uint32_t n = __atomic_load_n(&elf_count, __ATOMIC_ACQUIRE);
  if (n > ELF_MAX) n = ELF_MAX;
  for (uint32_t i = 0; i < n; i++) {
    struct elf_file *f = __atomic_load_n(&elf_files[i], __ATOMIC_ACQUIRE);
    if (f && (f->path == path || !strcmp(f->path, path))) return f;
  }
  if (path[0] != '/') return NULL;   /* [vdso], "?" */
  struct elf_file *f = rc_mmap(sizeof *f);
  if (!f) return NULL;
  f->path = path;
  elf_read(f, path);
  uint32_t i = __atomic_fetch_add(&elf_count, 1, __ATOMIC_ACQ_REL);
  if (i < ELF_MAX) __atomic_store_n(&elf_files[i], f, __ATOMIC_RELEASE);
  return f;
}

/* The first of the n symbols (sorted by value) whose value is above vaddr. */
static size_t first_above(const struct esym *a, size_t n, uintptr_t vaddr)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a[mid].value <= vaddr) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

bool rc_elf_sym(const char *path, int cls, uintptr_t vaddr, const char **name, uintptr_t *start)
{
  if (!path || cls < 0 || cls > 2) return false;
  struct elf_file *f = elf_get(path);
  if (!f || !f->nsym[cls]) return false;
  const struct esym *a = f->sym[cls];
  size_t lo = first_above(a, f->nsym[cls], vaddr);
  /* Symbols may nest (a struct and an alias inside it): look back a little. */
  for (size_t i = lo, k = 0; i-- > 0 && k < 16; k++) {
    if (vaddr - a[i].value < a[i].size) {
      if (name) *name = f->strtab + a[i].name;
      if (start) *start = a[i].value;
      return true;
    }
  }
  return false;
}

/* The writable allocated section holding vaddr, or -1. */
static int section_of(const struct elf_file *f, uintptr_t vaddr)
{
  for (unsigned i = 1; f->sh && i < f->shnum; i++) {
    const ElfW(Shdr) *h = &f->sh[i];
    if ((h->sh_flags & (SHF_ALLOC | SHF_WRITE)) != (SHF_ALLOC | SHF_WRITE) || !h->sh_size) continue;
    if (vaddr >= h->sh_addr && vaddr - h->sh_addr < h->sh_size) return (int)i;
  }
  return -1;
}

bool rc_elf_region(const char *path, uintptr_t vaddr, struct rc_elf_region *out)
{
  memset(out, 0, sizeof *out);
  struct elf_file *f = path ? elf_get(path) : NULL;
  int sec = f ? section_of(f, vaddr) : -1;
  if (sec < 0 || f->sh[sec].sh_name >= f->shstrsz) return false;
  out->section = f->shstr + f->sh[sec].sh_name;
  out->start = f->sh[sec].sh_addr;
  const struct esym *a = f->sym[RC_SYM_DATA];
  size_t lo = first_above(a, f->nsym[RC_SYM_DATA], vaddr);
  /* the data symbol of this section ending last at or before vaddr (nested
   * ones and aliases: a few entries back) */
  const struct esym *best = NULL;
  for (size_t i = lo, k = 0; i-- > 0 && k < 64; k++) {
    if (a[i].shndx != (uint32_t)sec || a[i].value + a[i].size > vaddr) continue;
    if (!best || a[i].value + a[i].size > best->value + best->size) best = &a[i];
  }
  if (best && best->value + best->size >= out->start) {
    out->start = best->value + best->size;
    out->near = f->strtab + best->name;
    out->near_off = best->size;
  }
  return true;
}
