/* libdw loaded on first use (see dw.h). */
#define _GNU_SOURCE
#include "base/base.h"
#include "symbols/dw.h"

union rc_dw_api rc_dw;

static bool forbidden;
/* pthread_once (rc_dl_load), not a mutex of ours: besides a fork mid-load,
 * there is then no lock to order against the symbolizer's (which calls in
 * holding its own) in atfork handlers. */
static void load(void);
static struct rc_dl_lib libdw = {PTHREAD_ONCE_INIT, false, load};

static void load(void)
{
  /* The soname the build's headers belong to (Debian's libdw1); sessions
   * and the strings handed out live as long as the process. */
  static const char *const names[RC_DW_N] = {RC_DW_FUNCTIONS(RC_DL_NAME)};
  __atomic_store_n(&libdw.loaded, rc_dl_resolve("libdw.so.1", names, rc_dw.fn, RC_DW_N), __ATOMIC_RELEASE);
}

bool rc_dw_load(void)
{
  if (__atomic_load_n(&libdw.loaded, __ATOMIC_ACQUIRE)) return true;
  if (__atomic_load_n(&forbidden, __ATOMIC_RELAXED)) return false;
  return rc_dl_load(&libdw);
}

/* The forked child of a check: it has one thread and takes no lock another
 * may hold, so only a flag. */
void rc_dw_forbid_load(void) { __atomic_store_n(&forbidden, true, __ATOMIC_RELAXED); }
