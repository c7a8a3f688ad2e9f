/* The libunwind side of the unwinder: RC_UNWIND_VERIFY (every capture
 * checked against unw_backtrace, and unw_step when they differ), the
 * counters printed at exit, the names of frames left to libunwind, and
 * libunwind's caching policy (the fallback of stack/depot.c). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include "stack/unwind_internal.h"

int rc_unwind_verify;
uint64_t rc_unwind_stats[ST_N];
static const char *const st_name[ST_N] = {
  "captures", "fallbacks", "cache misses", "verified", "unw_backtrace stale (unw_step agreed)",
  "fallback: stack unknown", "fallback: no FDE", "fallback: unsupported CFI", "fallback: bounds",
  "fallback: pc in no module", "fallback: cache busy", "suffix splices", "frames spliced",
  "whole-stack hits",
};

/* RC_UNWIND_VERIFY, read at the first capture, which may come before libc
 * has set environ (ld.so and constructors allocate first): from the
 * process's initial stack, argc at __libc_stack_end, then argv, then envp. */
void rc_unwind_verify_from_env(void)
{
  const uintptr_t *sp = __libc_stack_end;
  if (!sp) return;
  char *const *envp = (char *const *)(sp + 1 + sp[0] + 1);
  for (; *envp; envp++)
    if (!strncmp(*envp, "RC_UNWIND_VERIFY=", 17)) {
      const char *v = *envp + 17;
      rc_unwind_verify = *v && *v != '0';
    }
}

/* " 0x<pc> <module>+0x<offset> (<symbol>)", or " 0x<pc>" outside modules. */
static void pc_text(char *buf, size_t len, uintptr_t pc)
{
  Dl_info di;
  if (dladdr((void *)(pc - 1), &di) && di.dli_fname)
    snprintf(buf, len, " 0x%lx %s+0x%lx (%s)", (unsigned long)pc, di.dli_fname,
             (unsigned long)(pc - (uintptr_t)di.dli_fbase), di.dli_sname ? di.dli_sname : "?");
  else
    snprintf(buf, len, " 0x%lx", (unsigned long)pc);
}

/* RC_UNWIND_VERIFY: name the first return addresses left to libunwind. */
void rc_unwind_note_fallback(uintptr_t pc, uint32_t rule)
{
  static int noted;
  if (__atomic_fetch_add(&noted, 1, __ATOMIC_RELAXED) >= 20) return;
  const char *why = !rule ? "in no module" : R_SLOT(rule) == FB_NOINFO ? "no FDE" : "unsupported CFI";
  char t[512];
  pc_text(t, sizeof t, pc);
  rc_log("unwind: %s at%s", why, t);
}

/* ---- verification against libunwind (RC_UNWIND_VERIFY=1) ---- */
static void put_frame(const char *tag, int i, uintptr_t pc)
{
  char t[512];
  pc_text(t, sizeof t, pc);
  rc_log("  %s #%d%s", tag, i, t);
}

/* Frames of the stack above `skip` frames of rc_unwind_verify_check's
 * caller, by unw_step: the path unw_backtrace takes when its trace cache
 * cannot help. That cache (libunwind 1.6.2 src/x86_64/Gtrace.c) is keyed by
 * pc and never flushed, so after dlclose + dlopen at the same address
 * unw_backtrace itself returns stale frames. */
static __attribute__((noinline)) int slow_reference(uintptr_t *out, int max, int skip)
{
  rc_unw_prepare();
  unw_context_t uc;
  unw_cursor_t c;
  int n = 0;
  unw_flush_cache(unw_local_addr_space, 0, 0);
  if (unw_getcontext(&uc) || unw_init_local(&c, &uc) < 0) return -1;
  for (int i = 0; i < skip + 1; i++)   /* + slow_reference itself */
    if (unw_step(&c) <= 0) return 0;
  while (n < max && unw_step(&c) > 0) {
    unw_word_t ip;
    unw_get_reg(&c, UNW_REG_IP, &ip);
    if (ip < RA_MIN) break;
    out[n++] = (uintptr_t)ip;
  }
  return n;
}

__attribute__((noinline)) void rc_unwind_verify_check(const uintptr_t *fast, int nf, const uintptr_t *ref, int nr,
                                                      int skip)
{
  __atomic_fetch_add(&rc_unwind_stats[ST_VERIFIED], 1, __ATOMIC_RELAXED);
  if (nf == nr && !memcmp(fast, ref, sizeof *fast * (size_t)nf)) return;
  uintptr_t slow[RC_MAX_FRAMES];
  int ns = slow_reference(slow, nf < RC_MAX_FRAMES ? nf : RC_MAX_FRAMES, skip + 1);  /* + this function */
  if (ns == nf && !memcmp(fast, slow, sizeof *fast * (size_t)nf)) {
    __atomic_fetch_add(&rc_unwind_stats[ST_STALE_LIBUNWIND], 1, __ATOMIC_RELAXED);
    return;
  }
  rc_log("RC_UNWIND_VERIFY: rc_unwind (%d frames) differs from unw_backtrace (%d frames)", nf, nr);
  for (int i = 0; i < nf || i < nr || i < ns; i++) {
    if (i < nf) put_frame("fast", i, fast[i]);
    if (i < nr) put_frame("unw_backtrace", i, ref[i]);
    if (i < ns) put_frame("unw_step", i, slow[i]);
  }
  abort();
}

void rc_unwind_verify_hit(uint32_t hit, uint32_t id)
{
  __atomic_fetch_add(&rc_unwind_stats[ST_HIT], 1, __ATOMIC_RELAXED);
  if (hit == id) return;
  rc_log("RC_UNWIND_VERIFY: a kept whole stack answered depot id %u, the walk gives id %u", hit, id);
  abort();
}

/* libunwind's caching policy. Its cache of register states is a mutex held
 * with signals blocked, around dl_iterate_phdr (docs/reliability.md). A
 * thread holding it waits for ld.so's lock; if the thread holding that one
 * (inside our own rule lookup, or the program's exception unwinding) takes
 * a signal whose handler mallocs from a signal frame, its capture falls
 * back to libunwind and waits for the mutex: deadlock (rc.unwind.signals).
 * UNW_CACHE_PER_THREAD does not help: Debian's libunwind 1.6.2 takes the
 * global cache's mutex under it all the same (measured with a breakpoint on
 * pthread_mutex_lock: taken under PER_THREAD, not under NONE). No cache
 * takes no such lock (rc.unwind.ldlock.runtime deadlocks without this,
 * every time). The price, measured on a 14-frame stack: a walk unw_step by
 * unw_step takes 2.2x as long; unw_backtrace, which the fallback uses,
 * keeps its per-thread trace cache, 0.44 us a repeated stack against 0.14
 * us. Where that cache misses, each step looks its FDE up again, between
 * two sigprocmask calls: rc.unwind.signals.runtime, whose handlers
 * interrupt at random pcs, takes 6-13 s instead of 2.
 *
 * Set before the runtime's first call into libunwind, not in the
 * constructor: setting it runs libunwind's initialisation (its address
 * space cleared, 13 pages; a pipe; a mincore probe), ~50 us of every
 * process, and most processes never call libunwind (the fallback is for
 * frames the unwind rows cannot follow). Concurrent first calls are
 * harmless: libunwind initialises under its own lock, and both store the
 * same policy. The one caller that must not see the policy change under it
 * is the program's own use of libunwind: 1.6.2's put_rs_cache reads the
 * policy again to decide whether to unlock the global cache, so a switch
 * between its get and its put leaves the mutex locked and the thread's
 * signals blocked. So a process where another module links libunwind, or
 * where this code is linked into the executable itself (the unwinder's
 * test harness), gets the policy in the constructor, before the program
 * runs, as before. What is left: a library dlopen'd later that calls
 * libunwind from one thread while the runtime's very first fallback runs
 * on another (docs/reliability.md). */
static int unw_ready;

void rc_unw_prepare(void)
{
  if (RC_LIKELY(__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))) return;
  unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
  __atomic_store_n(&unw_ready, 1, __ATOMIC_RELEASE);
}

/* Does any module but the runtime's list libunwind among its DT_NEEDED, or
 * is the runtime's code in the executable? */
struct unw_users { uintptr_t self; bool found; };

static int unw_users_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  struct unw_users *u = arg;
  if (rc_dl_holds(info, u->self, 1)) {
    if (!info->dlpi_name || !info->dlpi_name[0]) u->found = true;   /* linked into the executable */
    return u->found;
  }
  const ElfW(Dyn) *dyn = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++)
    if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
  if (!dyn || !rc_dl_holds(info, (uintptr_t)dyn, sizeof *dyn)) return 0;
  uintptr_t strtab = 0;
  size_t strsz = 0;
  for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL && rc_dl_holds(info, (uintptr_t)(d + 1), sizeof *d); d++) {
    if (d->d_tag == DT_STRTAB) strtab = d->d_un.d_ptr;
    if (d->d_tag == DT_STRSZ) strsz = d->d_un.d_val;
  }
  /* ld.so rebases DT_STRTAB in a writable dynamic section, not in a
   * read-only one (the vDSO's) */
  if (strtab && strtab < info->dlpi_addr) strtab += info->dlpi_addr;
  if (!strtab || !rc_dl_holds(info, strtab, strsz)) return 0;
  static const char want[] = "libunwind.so";
  for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL && rc_dl_holds(info, (uintptr_t)(d + 1), sizeof *d); d++)
    if (d->d_tag == DT_NEEDED && d->d_un.d_val < strsz && strsz - d->d_un.d_val > sizeof want - 1 &&
        !memcmp((const char *)strtab + d->d_un.d_val, want, sizeof want - 1))
      u->found = true;
  return u->found;
}

__attribute__((constructor)) static void verify_init(void)
{
  rc_unwind_verify_from_env();
  struct unw_users u = {.self = (uintptr_t)&rc_unw_prepare};
  dl_iterate_phdr(unw_users_cb, &u);
  if (rc_unwind_verify || u.found) rc_unw_prepare();
}

__attribute__((destructor)) static void unwind_fini(void)
{
  if (!rc_unwind_verify) return;
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_buf_printf(&b, "reachcheck: unwind [pid %d]:", (int)getpid());
  for (int i = 0; i < ST_N; i++) rc_buf_printf(&b, " %s=%lu;", st_name[i], (unsigned long)rc_unwind_stats[i]);
  rc_buf_put(&b, "\n", 1);
  rc_buf_flush(&b);
}
