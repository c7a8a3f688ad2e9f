/* libdw loaded on first use (see dw.h). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include "base/base.h"
#include "symbols/dw.h"

struct rc_dw_api rc_dw;

enum { DW_UNTRIED, DW_LOADED, DW_FAILED };
static int state;              /* DW_*: written under lock, read with acquire */
static bool forbidden;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A fork while another thread loads would leave the child's lock held for
 * good. Registered on first use, after runtime/init.c's handlers, so the
 * lock is taken before the heap's (dlopen mallocs while holding it), as
 * symbolize.c does with its own. */
static void lock_fork(void) { pthread_mutex_lock(&lock); }
static void unlock_fork(void) { pthread_mutex_unlock(&lock); }
static void register_fork(void) { pthread_atfork(lock_fork, unlock_fork, unlock_fork); }

bool rc_dw_load(void)
{
  int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
  if (s != DW_UNTRIED) return s == DW_LOADED;
  if (__atomic_load_n(&forbidden, __ATOMIC_RELAXED)) return false;
  rc_in_runtime++;   /* ld.so's and libdw's set-up mallocs are internal blocks, never the program's */
  pthread_once(&once, register_fork);
  pthread_mutex_lock(&lock);
  if (state == DW_UNTRIED) {
    /* The soname the build's headers belong to (Debian's libdw1). Never
     * dlclose'd: sessions and the strings handed out live as long as the
     * process. */
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    bool all = h != NULL;
#define RC_DW_RESOLVE(f) \
    if (all) all = (*(void **)&rc_dw.f = dlsym(h, #f)) != NULL;
    RC_DW_FUNCTIONS(RC_DW_RESOLVE)
#undef RC_DW_RESOLVE
    __atomic_store_n(&state, all ? DW_LOADED : DW_FAILED, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&lock);
  rc_in_runtime--;
  return state == DW_LOADED;
}

/* The forked child of a check: it has one thread and takes no lock another
 * may hold, so only a flag. */
void rc_dw_forbid_load(void) { __atomic_store_n(&forbidden, true, __ATOMIC_RELAXED); }
