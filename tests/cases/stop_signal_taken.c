/* The program takes reachcheck's stop signal (SIGRTMAX-2) for itself: with
 * libc's signal() ("libc"), or with the raw rt_sigaction system call, which
 * no interposition sees ("raw", SIG_IGN). Each check must still stop the
 * program's threads at once (not wait stop_timeout_ms and scan without
 * their registers), say once that the handler was replaced, and leave the
 * program's action in place between checks: after a check in the middle of
 * the run, the program's handler runs for the signal ("libc") or the
 * kernel still ignores it ("raw"). A thread holds a 60-byte block on its
 * stack. Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include "reachcheck.h"

static volatile sig_atomic_t got;
static void on_sig(int sig) { (void)sig; got++; }

static int g_ready;
void *g_handoff;

RC_NOINLINE void alloc_it(void) { g_handoff = malloc(60); }

static void *thread_main(void *arg)
{
  alloc_it();
  void *volatile p = g_handoff;
  g_handoff = 0;
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return (void *)p;
}

/* The kernel's struct sigaction for rt_sigaction (x86-64). */
struct ksigaction { void *handler; unsigned long flags; void *restorer; uint64_t mask; };

int main(int argc, char **argv)
{
  int sig = SIGRTMAX - 2;
  int raw = argc > 1 && !strcmp(argv[1], "raw");
  if (raw) {
    struct ksigaction k = {(void *)SIG_IGN, 0, NULL, 0};
    RC_CHECK(syscall(SYS_rt_sigaction, sig, &k, NULL, 8) == 0);
  } else {
    RC_CHECK(signal(sig, on_sig) != SIG_ERR);
  }
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  __typeof__(&reachcheck_check) check = (__typeof__(&reachcheck_check))dlsym(RTLD_DEFAULT, "reachcheck_check");
  RC_CHECK(check != NULL);
  struct reachcheck_result r;
  printf("check in the middle %ld\n", check(&r, 0));
  if (raw) {
    struct ksigaction k;
    RC_CHECK(syscall(SYS_rt_sigaction, sig, NULL, &k, 8) == 0);
    printf("raw action after the check: %s\n", k.handler == (void *)SIG_IGN ? "ignore" : "other");
  } else {
    raise(sig);
    printf("program handler after the check: %d\n", (int)got);
  }
  fflush(stdout);
  rc_leak_known();
  rc_scrub();
  return 0;
}
