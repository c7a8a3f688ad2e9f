/* Signals reachcheck takes (snapshot_signal): its handler stays installed
 * whatever the program does, and the program's own handler for the same
 * signal runs after it (chained). sigaction, signal, bsd_signal,
 * sysv_signal and sigset are interposed: for a taken signal they record the
 * program's action instead of installing it, and report that recorded action
 * as the old one, so the program sees exactly what it set (nginx installs a
 * SIGUSR2 handler at start-up, which used to replace reachcheck's without a
 * word). Where chaining cannot work (the program takes the signal with
 * signalfd or sigwait, which bypass handlers) one line says so and names a
 * free signal. Why the handler can lock: writers block every signal while
 * they hold the table's lock, so a handler never spins on its own thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "scanners/scanners.h"

#define EXPORT __attribute__((visibility("default")))
#define NSIGS 65

struct taken {
  rc_sig_fn fn;            /* reachcheck's handler; NULL: the signal is not taken */
  struct sigaction prog;   /* the program's action, as it set it */
  bool warned;
};
static struct taken tk[NSIGS];
static rc_spinlock tk_lock = RC_SPINLOCK_INIT;

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction(void)
{
  static sigaction_fn real;
  if (!real) real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  return real;
}

static bool is_taken(int sig) { return sig > 0 && sig < NSIGS && __atomic_load_n(&tk[sig].fn, __ATOMIC_ACQUIRE); }

/* The table's lock with every signal blocked on this thread (see the top). */
static void tk_enter(sigset_t *old)
{
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, old);   /* the stop signal stays open: it never touches the table */
  rc_spin_lock(&tk_lock);
}

static void tk_leave(const sigset_t *old)
{
  rc_spin_unlock(&tk_lock);
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void chain(int sig, siginfo_t *si, void *uc)
{
  int e = errno;
  struct taken *t = &tk[sig];
  rc_sig_fn fn = __atomic_load_n(&t->fn, __ATOMIC_ACQUIRE);
  if (fn) fn(sig, si, uc);
  rc_spin_lock(&tk_lock);
  struct sigaction a = t->prog;
  /* SA_RESETHAND: the kernel would have reset it on this delivery */
  if ((a.sa_flags & SA_RESETHAND) && a.sa_handler != SIG_IGN && a.sa_handler != SIG_DFL) {
    memset(&t->prog, 0, sizeof t->prog);
    t->prog.sa_handler = SIG_DFL;
  }
  rc_spin_unlock(&tk_lock);
  errno = e;
  /* SIG_DFL and SIG_IGN: reachcheck's handler alone (its reason to exist:
   * snapshot_signal=SIGUSR2 must not terminate a program that never set it) */
  if (a.sa_handler == SIG_DFL || a.sa_handler == SIG_IGN) return;
  /* the kernel already blocks the program's sa_mask here (install) */
  if (a.sa_flags & SA_SIGINFO) a.sa_sigaction(sig, si, uc);
  else a.sa_handler(sig);
}

/* The kernel's action for a taken signal: our handler with the program's
 * mask and the flags that change how its handler runs. */
static int install(int sig, const struct sigaction *prog)
{
  struct sigaction k;
  memset(&k, 0, sizeof k);
  k.sa_sigaction = chain;
  k.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&k.sa_mask);
  if (prog && prog->sa_handler != SIG_DFL && prog->sa_handler != SIG_IGN) {
    k.sa_mask = prog->sa_mask;
    k.sa_flags = SA_SIGINFO | (prog->sa_flags & (SA_RESTART | SA_ONSTACK | SA_NODEFER));
  }
  return real_sigaction()(sig, &k, NULL);
}

int rc_signal_take(int sig, rc_sig_fn fn)
{
  if (sig <= 0 || sig >= NSIGS || !fn) {
    errno = EINVAL;
    return -1;
  }
  sigset_t old;
  tk_enter(&old);
  struct sigaction cur;
  int r = real_sigaction()(sig, NULL, &cur);
  if (!r) {
    tk[sig].prog = cur;   /* whatever was there is the program's (or the default) */
    r = install(sig, &cur);
  }
  if (!r) __atomic_store_n(&tk[sig].fn, fn, __ATOMIC_RELEASE);
  tk_leave(&old);
  return r;
}

void rc_signals_after_fork_child(void) { rc_spin_reset(&tk_lock); }

static bool is_free(int sig)
{
  struct sigaction a;
  return sig != rc_stop_signal() && !is_taken(sig) && !real_sigaction()(sig, NULL, &a) && a.sa_handler == SIG_DFL;
}

int rc_signal_free(void)
{
  for (int s = SIGRTMIN + 2; s <= SIGRTMAX - 4; s++)
    if (is_free(s)) return s;
  return 0;
}

void rc_signal_name(int sig, char *out, size_t n)
{
  if (sig >= SIGRTMIN && sig <= SIGRTMAX) snprintf(out, n, "SIGRTMIN+%d", sig - SIGRTMIN);
  else if (sigabbrev_np(sig)) snprintf(out, n, "SIG%s", sigabbrev_np(sig));
  else snprintf(out, n, "%d", sig);
}

/* Once per signal: the program consumes it without handlers. */
static void cannot_chain(int sig, const char *how)
{
  if (__atomic_exchange_n(&tk[sig].warned, true, __ATOMIC_ACQ_REL)) return;
  char name[32], free_name[32] = "";
  rc_signal_name(sig, name, sizeof name);
  int f = rc_signal_free();
  if (f) rc_signal_name(f, free_name, sizeof free_name);
  rc_log("the program takes %s with %s, which bypasses reachcheck's handler: %s may not reach it; use "
         "snapshot_signal=%s (free)", name, how, name, f ? free_name : "SIGRTMIN+N");
}

static void check_set(const sigset_t *set, const char *how)
{
  if (!set) return;
  for (int s = 1; s < NSIGS; s++)
    if (is_taken(s) && sigismember(set, s)) cannot_chain(s, how);
}

/* ---- the interposed functions ---- */
EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
  if (!is_taken(sig)) return real_sigaction()(sig, act, old);
  sigset_t m;
  tk_enter(&m);
  struct sigaction prev = tk[sig].prog;
  int r = 0;
  if (act) {
    r = install(sig, act);
    if (!r) tk[sig].prog = *act;
  }
  tk_leave(&m);
  if (!r && old) *old = prev;
  return r;
}

EXPORT int __sigaction(int sig, const struct sigaction *act, struct sigaction *old) { return sigaction(sig, act, old); }

typedef void (*handler_t)(int);
typedef handler_t (*setter_t)(int, handler_t);

/* An untaken signal: glibc's own function. */
static handler_t pass(setter_t *real, const char *name, int sig, handler_t h)
{
  if (!*real) *real = (setter_t)dlsym(RTLD_NEXT, name);
  return (*real)(sig, h);
}

/* signal(), bsd_signal(): BSD semantics as glibc gives them (restart, the
 * signal blocked in its handler). */
static handler_t set_simple(int sig, handler_t h, int flags, bool block_self)
{
  struct sigaction a, old;
  memset(&a, 0, sizeof a);
  a.sa_handler = h;
  a.sa_flags = flags;
  sigemptyset(&a.sa_mask);
  if (block_self) sigaddset(&a.sa_mask, sig);
  if (h == SIG_ERR || sigaction(sig, &a, &old)) {
    errno = EINVAL;
    return SIG_ERR;
  }
  return old.sa_handler;
}

EXPORT handler_t signal(int sig, handler_t h)
{
  static setter_t real;
  if (!is_taken(sig)) return pass(&real, "signal", sig, h);
  return set_simple(sig, h, SA_RESTART, true);
}

EXPORT handler_t bsd_signal(int sig, handler_t h) { return signal(sig, h); }

/* System V: reset on delivery, not blocked in the handler. */
EXPORT handler_t sysv_signal(int sig, handler_t h)
{
  static setter_t real;
  if (!is_taken(sig)) return pass(&real, "sysv_signal", sig, h);
  return set_simple(sig, h, SA_RESETHAND | SA_NODEFER, false);
}

EXPORT handler_t __sysv_signal(int sig, handler_t h) { return sysv_signal(sig, h); }

/* sigset: SIG_HOLD blocks; anything else installs and unblocks. The old
 * disposition is SIG_HOLD when the signal was blocked. */
EXPORT handler_t sigset(int sig, handler_t h)
{
  static setter_t real;
  if (!is_taken(sig)) return pass(&real, "sigset", sig, h);
  sigset_t one, was;
  sigemptyset(&one);
  sigaddset(&one, sig);
  struct sigaction old;
  if (h == SIG_HOLD) {
    if (sigprocmask(SIG_BLOCK, &one, &was) || sigaction(sig, NULL, &old)) return SIG_ERR;
    return sigismember(&was, sig) ? SIG_HOLD : old.sa_handler;
  }
  handler_t prev = set_simple(sig, h, 0, false);
  if (prev == SIG_ERR || sigprocmask(SIG_UNBLOCK, &one, &was)) return SIG_ERR;
  return sigismember(&was, sig) ? SIG_HOLD : prev;
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
  static int (*real)(int, const sigset_t *, int);
  if (!real) real = (int (*)(int, const sigset_t *, int))dlsym(RTLD_NEXT, "signalfd");
  check_set(mask, "signalfd");
  return real(fd, mask, flags);
}

EXPORT int sigwait(const sigset_t *set, int *sig)
{
  static int (*real)(const sigset_t *, int *);
  if (!real) real = (int (*)(const sigset_t *, int *))dlsym(RTLD_NEXT, "sigwait");
  check_set(set, "sigwait");
  return real(set, sig);
}

EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
  static int (*real)(const sigset_t *, siginfo_t *);
  if (!real) real = (int (*)(const sigset_t *, siginfo_t *))dlsym(RTLD_NEXT, "sigwaitinfo");
  check_set(set, "sigwaitinfo");
  return real(set, info);
}

EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
  static int (*real)(const sigset_t *, siginfo_t *, const struct timespec *);
  if (!real) real = (int (*)(const sigset_t *, siginfo_t *, const struct timespec *))dlsym(RTLD_NEXT, "sigtimedwait");
  check_set(set, "sigtimedwait");
  return real(set, info, ts);
}
