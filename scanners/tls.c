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
#include "scanners/scanners.h"

static size_t static_size = 4096, tcb_size = 2304;

void rc_tls_init(void)
{
  /* GLIBC_PRIVATE symbols, looked up like LeakSanitizer does: absent in a
   * future glibc means falling back to the 2.36 values above. */
  void (*get_info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
  if (get_info) {
    size_t sz = 0, al = 0;
    get_info(&sz, &al);
    if (sz) static_size = sz;
  }
  const unsigned *tsz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
  if (tsz && *tsz) tcb_size = *tsz;
}

struct dtv_entry { uintptr_t val, to_free; };

void rc_tls_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t tp, long tid, bool exited)
{
  if (!tp) return;
  char what[64];
  /* An exited thread's __thread variables and keys are dead: a block only
   * they point to is leaked (LeakSanitizer agrees). Only its DTV, which
   * glibc keeps while the stack is cached, is still glibc's live state. */
  if (!exited) {
    snprintf(what, sizeof what, "thread %ld static TLS and descriptor", tid);
    /* static_size includes the TCB: the block is [tp + tcb - static, tp + tcb). */
    uintptr_t lo = tp + tcb_size > static_size ? tp + tcb_size - static_size : tp;
    rc_root_clipped(maps, fn, ctx, lo & ~(uintptr_t)7, tp + tcb_size, RC_ROOT_TLS, what, tid);
  }
  const struct rc_map *m = rc_maps_find(maps, tp + 8);
  if (!m || !(m->prot & 1)) return;
  uintptr_t dtv = *(const uintptr_t *)(tp + 8);
  const struct rc_map *dm = rc_maps_find(maps, dtv - sizeof(struct dtv_entry));
  if (!dtv || !dm || !(dm->prot & 1)) return;
  size_t n = ((const struct dtv_entry *)dtv)[-1].val;
  if (n > (1u << 20)) return;   /* not a DTV: never trust it blindly */
  snprintf(what, sizeof what, "thread %ld DTV", tid);
  rc_root_clipped(maps, fn, ctx, dtv - sizeof(struct dtv_entry), dtv + (n + 1) * sizeof(struct dtv_entry),
                  RC_ROOT_TLS, what, tid);
}
