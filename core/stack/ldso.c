/* Which code a pc belongs to: ld.so's text, found from its ELF header at
 * the first malloc (the heap marks the blocks ld.so allocates for itself). */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include "stack/stack.h"

/* ld.so's own allocations (link maps, scopes, DTVs, dynamic TLS) hang off
 * memory ld.so took before malloc was usable (its minimal malloc), which is
 * neither a module segment nor a block: like LeakSanitizer, treat every block
 * whose immediate caller is in ld.so as a root. */
uintptr_t rc_ldso_lo, rc_ldso_hi;

void rc_ldso_init(void)
{
  /* Read ld.so's program headers straight from its mapped ELF header: this
   * runs from the first malloc, before dl_iterate_phdr is safe to call. */
  uintptr_t base = getauxval(AT_BASE);
  if (!base) return;
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG)) return;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X)) continue;
    rc_ldso_lo = base + ph[i].p_vaddr;
    rc_ldso_hi = rc_ldso_lo + ph[i].p_memsz;
  }
}
