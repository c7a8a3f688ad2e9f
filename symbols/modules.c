/* The table of every module ever loaded, kept after dlclose, so that a stack
 * captured before an unload still resolves to the library it ran in. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "symbols/symbols.h"
#include "stack/unwind.h"

#define RC_GEN_ALIVE UINT32_MAX
#define RC_MOD_CHUNK 128u
#define RC_MOD_CHUNKS 1024u

/* Entries are append-only and never move (fixed chunks, not a growable
 * vector), so rc_module_lookup can read them without the lock: a reader sees
 * a complete entry once mod_count covers it (release/acquire). */
struct rc_module {
  const char *path;           /* internal pool, never freed */
  uintptr_t bias, lo, hi;     /* l_addr, [lo, hi) of the PT_LOAD segments */
  uint32_t gen_first;         /* first generation whose stacks may point here */
  _Atomic uint32_t gen_gone;  /* first generation where it is gone, or ALIVE */
  bool seen;                  /* scratch of rc_modules_refresh, under mod_lock */
};

static struct rc_module *mod_chunk[RC_MOD_CHUNKS];
static _Atomic size_t mod_count;
static pthread_mutex_t mod_lock = PTHREAD_MUTEX_INITIALIZER;
/* ld.so's load/unload counters at the last refresh: equal means unchanged. */
static bool mod_counters_valid;
static unsigned long long mod_adds, mod_subs;

static struct rc_module *mod_at(size_t i)
{
  return &mod_chunk[i / RC_MOD_CHUNK][i % RC_MOD_CHUNK];
}

/* dl_iterate_phdr (glibc 2.36) names the main program "" and the vdso
 * "linux-vdso.so.1", neither a file; a relative dlopen name stays relative to
 * the cwd of the time, so make it absolute now. Called with mod_lock held. */
static const char *mod_name_locked(const char *name, uintptr_t lo, uintptr_t hi)
{
  char buf[PATH_MAX];
  uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  if (vdso && vdso >= lo && vdso < hi) return "[vdso]";
  if (!name || !*name) {
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "?";
    buf[n] = 0;
    name = buf;
  } else if (name[0] != '/' && realpath(name, buf)) {
    name = buf;
  }
  const char *s = rc_strdup_internal(name);
  return s ? s : "?";
}

struct refresh_ctx { size_t n_old; bool first, unchanged; uint32_t gen; };

static int refresh_one(struct dl_phdr_info *info, size_t size, void *arg)
{
  struct refresh_ctx *c = arg;
  if (c->first) {
    c->first = false;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
      if (mod_counters_valid && info->dlpi_adds == mod_adds && info->dlpi_subs == mod_subs) {
        c->unchanged = true;
        return 1;
      }
      mod_adds = info->dlpi_adds;
      mod_subs = info->dlpi_subs;
      mod_counters_valid = true;
    }
  }
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (size_t i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    if (ph->p_vaddr < lo) lo = ph->p_vaddr;
    if (ph->p_vaddr + ph->p_memsz > hi) hi = ph->p_vaddr + ph->p_memsz;
  }
  if (lo >= hi) return 0;
  uintptr_t bias = info->dlpi_addr;
  lo += bias;
  hi += bias;
  const char *name = info->dlpi_name;
  for (size_t i = 0; i < c->n_old; i++) {
    struct rc_module *m = mod_at(i);
    if (m->bias != bias || m->lo != lo || m->hi != hi) continue;
    if (atomic_load_explicit(&m->gen_gone, memory_order_relaxed) != RC_GEN_ALIVE) continue;
    /* Same place, same file: an unload + reload we missed would differ here. */
    if (name && name[0] == '/' && strcmp(name, m->path) != 0) continue;
    m->seen = true;
    return 0;
  }
  size_t n = atomic_load_explicit(&mod_count, memory_order_relaxed);
  if (n >= (size_t)RC_MOD_CHUNK * RC_MOD_CHUNKS) return 0;
  struct rc_module **chunk = &mod_chunk[n / RC_MOD_CHUNK];
  if (!*chunk && !(*chunk = rc_mmap(RC_MOD_CHUNK * sizeof(struct rc_module)))) return 0;
  struct rc_module *m = mod_at(n);
  m->path = mod_name_locked(name, lo, hi);
  m->bias = bias;
  m->lo = lo;
  m->hi = hi;
  m->gen_first = c->gen;
  m->seen = true;
  atomic_store_explicit(&m->gen_gone, RC_GEN_ALIVE, memory_order_relaxed);
  atomic_store_explicit(&mod_count, n + 1, memory_order_release);
  return 0;
}

/* Not async-signal-safe: takes mod_lock, then ld.so's dl_load_write_lock
 * inside dl_iterate_phdr. Call it before stopping the world, never during. */
void rc_modules_refresh(void)
{
  int saved_errno = errno;
  rc_in_runtime++;
  pthread_mutex_lock(&mod_lock);
  size_t n_old = atomic_load_explicit(&mod_count, memory_order_relaxed);
  for (size_t i = 0; i < n_old; i++) mod_at(i)->seen = false;
  uint32_t gen = rc_stack_generation();
  struct refresh_ctx c = { .n_old = n_old, .first = true, .gen = gen };
  dl_iterate_phdr(refresh_one, &c);
  bool gone = false;
  if (!c.unchanged) {
    for (size_t i = 0; i < n_old; i++) {
      struct rc_module *m = mod_at(i);
      if (m->seen || atomic_load_explicit(&m->gen_gone, memory_order_relaxed) != RC_GEN_ALIVE)
        continue;
      atomic_store_explicit(&m->gen_gone, gen + 1, memory_order_release);
      gone = true;
    }
    if (gone) rc_stack_generation_bump();
  }
  pthread_mutex_unlock(&mod_lock);
  /* Outside mod_lock so that the depot's lock never nests inside ours. */
  rc_in_runtime--;
  errno = saved_errno;
}

/* Lock-free (see struct rc_module). Newest entries first: they are the likely
 * hits, and at most one entry matches a (pc, gen) pair anyway. */
bool rc_module_lookup(uintptr_t pc, uint32_t gen, const char **path, uintptr_t *bias)
{
  size_t n = atomic_load_explicit(&mod_count, memory_order_acquire);
  for (size_t i = n; i-- > 0;) {
    const struct rc_module *m = mod_at(i);
    if (pc < m->lo || pc >= m->hi || gen < m->gen_first) continue;
    if (gen >= atomic_load_explicit(&m->gen_gone, memory_order_acquire)) continue;
    if (path) *path = m->path;
    if (bias) *bias = m->bias;
    return true;
  }
  return false;
}

/* Held across fork (runtime/init.c) so the child never inherits a table
 * half-way through a refresh; the child unlocks from the forking thread's
 * copy, which is the owner. */
void rc_modules_lock(void) { pthread_mutex_lock(&mod_lock); }
void rc_modules_unlock(void) { pthread_mutex_unlock(&mod_lock); }

/* dlclose is interposed to record what is about to go (modules loaded since
 * the last refresh, including ones glibc loaded internally) and then what
 * went. dlopen and dlmopen are deliberately NOT interposed: glibc resolves a
 * file name without '/' along the RPATH/RUNPATH of the object that called
 * dlopen (found from its return address), and puts the new object in the
 * caller's namespace; a wrapper would make libreachcheck.so that caller and
 * break both (the known ASan/libTAS/DMTCP bug). Refreshing at every dlclose
 * and before every check finds each module in the generation it was loaded
 * in, since generations only change inside a refresh. dlclose has no such
 * caller dependence. */
__attribute__((visibility("default"))) int dlclose(void *handle)
{
  static int (*_Atomic real_dlclose)(void *);
  int (*fn)(void *) = atomic_load_explicit(&real_dlclose, memory_order_acquire);
  if (RC_UNLIKELY(!fn)) {
    rc_in_runtime++;
    fn = (int (*)(void *))dlsym(RTLD_NEXT, "dlclose");
    rc_in_runtime--;
    if (!fn) rc_die("dlclose: no next definition");
    atomic_store_explicit(&real_dlclose, fn, memory_order_release);
  }
  rc_modules_refresh();
  int r = fn(handle);  /* destructors run here, outside rc_in_runtime */
  rc_unwind_flush();   /* a new module may now be mapped where this one was */
  rc_modules_refresh();
  return r;
}
