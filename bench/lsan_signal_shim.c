/* Debian 12's preloaded LeakSanitizer (liblsan0, gcc 12.2) crashes on any
 * call of signal(): its interceptor jumps to a NULL REAL(signal). git calls
 * signal(SIGPIPE, ...) first thing. bench/run preloads this shim in front of
 * liblsan.so.0 for the real programs only, so LSan can be measured there:
 * signal() done with glibc's __sigaction (LSan's sigaction interceptor has
 * the same NULL REAL pointer and would drop the handler). */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

sighandler_t signal(int sig, sighandler_t h)
{
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, sig);
  if (__sigaction(sig, &sa, &old)) return SIG_ERR;
  return old.sa_handler;
}
