/* libdw loaded on first use (see dw.h). */
#define _GNU_SOURCE
#include <pthread.h>
#include "base/base.h"
#include "symbols/dw.h"

union rc_dw_api rc_dw;

static bool loaded, forbidden;
/* pthread_once, not a mutex of ours: glibc's once control carries the fork
 * generation, so a child forked while another thread loads runs the load
 * again instead of waiting for good, and there is no lock to order against
 * the symbolizer's (which calls in holding its own) in atfork handlers. */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
  /* The soname the build's headers belong to (Debian's libdw1); sessions
   * and the strings handed out live as long as the process. */
#define RC_DW_NAME(f) #f,
  static const char *const names[RC_DW_N] = {RC_DW_FUNCTIONS(RC_DW_NAME)};
#undef RC_DW_NAME
  __atomic_store_n(&loaded, rc_dl_resolve("libdw.so.1", names, rc_dw.fn, RC_DW_N), __ATOMIC_RELEASE);
}

bool rc_dw_load(void)
{
  if (__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) return true;
  if (__atomic_load_n(&forbidden, __ATOMIC_RELAXED)) return false;
  rc_in_runtime++;   /* ld.so's and libdw's set-up mallocs are internal blocks, never the program's */
  pthread_once(&once, load);
  rc_in_runtime--;
  return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE);
}

/* The forked child of a check: it has one thread and takes no lock another
 * may hold, so only a flag. */
void rc_dw_forbid_load(void) { __atomic_store_n(&forbidden, true, __ATOMIC_RELAXED); }
