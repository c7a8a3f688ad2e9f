/* Static TLS, thread descriptor and DTV of one thread (glibc 2.36, x86-64,
 * TLS_TCB_AT_TP). The static TLS block ends at the thread pointer + the TCB;
 * the descriptor (struct pthread) starts at the thread pointer and holds the
 * inline pthread_setspecific values (keys < 32) and the pointers to the
 * second-level key arrays. The DTV (tcb+8 points to dtv+1) lists the dynamic
 * TLS blocks of dlopen'ed modules. For the main thread all of this was
 * allocated by ld.so before malloc existed, so it is neither a module
 * segment nor a block: it must be scanned explicitly. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "scanners/glibc.h"
#include "scanners/scanners.h"

static struct rc_tls_layout layout = {RC_GLIBC_TLS_STATIC_SIZE, RC_GLIBC_TCB_SIZE};

const struct rc_tls_layout *rc_tls_layout(void) { return &layout; }

void rc_tls_init(void)
{
  /* GLIBC_PRIVATE symbols, looked up like LeakSanitizer does: absent in a
   * future glibc means falling back to the 2.36 values of glibc.h. */
  void (*get_info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
  if (get_info) {
    size_t sz = 0, al = 0;
    get_info(&sz, &al);
    if (sz) layout.static_size = sz;
  }
  const unsigned *tsz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
  if (tsz && *tsz) layout.tcb_size = *tsz;
}

void rc_tls_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t tp, long tid, bool exited)
{
  if (!tp) return;
  /* An exited thread's __thread variables and keys are dead: a block only
   * they point to is leaked (LeakSanitizer agrees). Only its DTV, which
   * glibc keeps while the stack is cached, is still glibc's live state. */
  if (!exited) {
    const struct rc_root_range r = {.kind = RC_ROOT_TLS, .part = RC_PART_STATIC_TLS, .thread = tid};
    /* layout.static_size includes the TCB: the block is [tp + tcb - static, tp + tcb). */
    uintptr_t lo = tp + layout.tcb_size > layout.static_size ? tp + layout.tcb_size - layout.static_size : tp;
    rc_root_clipped(maps, fn, ctx, lo & ~(uintptr_t)7, tp + layout.tcb_size, &r);
  }
  /* A descriptor and a DTV live in private memory (a thread's stack block,
   * ld.so's or the heap's pages): an exited thread's stale word that points
   * into a shared mapping (a device's, say) is not followed. */
  const struct rc_map *m = rc_maps_find(maps, tp + RC_GLIBC_TCB_DTV_OFFSET);
  if (!rc_map_private(m, 1)) return;
  uintptr_t dtv = *(const uintptr_t *)(tp + RC_GLIBC_TCB_DTV_OFFSET);
  const struct rc_map *dm = rc_maps_find(maps, dtv - sizeof(struct rc_dtv_entry));
  if (!dtv || !rc_map_private(dm, 1)) return;
  size_t n = ((const struct rc_dtv_entry *)dtv)[-1].val;
  if (n > RC_GLIBC_DTV_MAX) return;   /* not a DTV: never trust it blindly */
  const struct rc_root_range r = {.kind = RC_ROOT_TLS, .part = RC_PART_DTV, .thread = tid};
  rc_root_clipped(maps, fn, ctx, dtv - sizeof(struct rc_dtv_entry), dtv + (n + 1) * sizeof(struct rc_dtv_entry), &r);
}
