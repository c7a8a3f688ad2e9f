/* The program's own handler for reachcheck's snapshot signal (SIGUSR2 here,
 * run with snapshot_signal=SIGUSR2): installed through sigaction, signal,
 * sysv_signal or sigset, it must see exactly what it set and be called
 * exactly once per signal, after reachcheck's handler, with the sender's
 * siginfo. Mode (argv[1]):
 *   sigaction  SA_SIGINFO handler with a mask; 3 x sigqueue(value 1000+i)
 *   resethand  SA_RESETHAND: called for the first signal only, then
 *              sigaction reports SIG_DFL; the second signal still snapshots
 *   signal     signal(): old handlers as glibc reports them; SIG_IGN
 *   sigset     sigset(SIG_HOLD) then a handler: the held signal arrives once
 *   other      SIGUSR1 (not taken): plain sigaction, called once
 *   signalfd   signalfd for SIGUSR2: reachcheck says once it cannot chain
 * Prints one line "ok MODE calls=N" and leaks the known 77-byte block. Each
 * signal waits for its snapshot file (argv[2] is the snapshot_path prefix
 * up to -N.snap.json) so the snapshots are counted one by one. */
#include "rc_test.h"
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>

static volatile sig_atomic_t calls, bad;
static volatile int last_value;
static const char *prefix;
static int nsnaps;

static void on_info(int sig, siginfo_t *si, void *uc)
{
  (void)uc;
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  /* the program's mask (SIGTERM) and the signal itself are blocked here */
  if (sig != SIGUSR2 || si->si_signo != SIGUSR2 || si->si_code != SI_QUEUE || si->si_pid != getpid() ||
      !sigismember(&now, SIGTERM) || !sigismember(&now, SIGUSR2))
    bad = 1;
  last_value = si->si_value.sival_int;
  calls++;
}

static void on_plain(int sig)
{
  if (sig != SIGUSR2 && sig != SIGUSR1) bad = 1;
  calls++;
}

/* Wait for snapshot number n to be written (up to 20 s). */
static void wait_snap(int n)
{
  char path[4096];
  snprintf(path, sizeof path, "%s-%d.snap.json", prefix, n);
  for (int i = 0; i < 2000; i++) {
    if (!access(path, F_OK)) return;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  rc_fail("snapshot file did not appear");
}

static void send_usr2(int value)
{
  union sigval v = {.sival_int = value};
  RC_CHECK(sigqueue(getpid(), SIGUSR2, v) == 0);
  wait_snap(++nsnaps);
}

static void mode_sigaction(void)
{
  struct sigaction sa, old, cur;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_info;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGTERM);
  RC_CHECK(sigaction(SIGUSR2, &sa, &old) == 0);
  /* what was there before: the default, not reachcheck's handler */
  RC_CHECK(old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO));
  RC_CHECK(sigaction(SIGUSR2, NULL, &cur) == 0);
  RC_CHECK(cur.sa_sigaction == on_info && (cur.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART));
  RC_CHECK(sigismember(&cur.sa_mask, SIGTERM) && !sigismember(&cur.sa_mask, SIGINT));
  for (int i = 0; i < 3; i++) {
    send_usr2(1000 + i);
    RC_CHECK(calls == i + 1 && last_value == 1000 + i);
  }
}

static void mode_resethand(void)
{
  struct sigaction sa, cur;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_plain;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  RC_CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
  send_usr2(1);
  RC_CHECK(calls == 1);
  RC_CHECK(sigaction(SIGUSR2, NULL, &cur) == 0 && cur.sa_handler == SIG_DFL);
  send_usr2(2);   /* the default now: reachcheck's snapshot alone */
  RC_CHECK(calls == 1);
}

static void mode_signal(void)
{
  RC_CHECK(signal(SIGUSR2, on_plain) == SIG_DFL);
  send_usr2(1);
  RC_CHECK(calls == 1);
  RC_CHECK(signal(SIGUSR2, SIG_IGN) == on_plain);
  struct sigaction cur;
  RC_CHECK(sigaction(SIGUSR2, NULL, &cur) == 0 && cur.sa_handler == SIG_IGN);
  send_usr2(2);   /* ignored by the program; the snapshot still happens */
  RC_CHECK(calls == 1);
  RC_CHECK(sysv_signal(SIGUSR2, on_plain) == SIG_IGN);
  RC_CHECK(sigaction(SIGUSR2, NULL, &cur) == 0 && cur.sa_handler == on_plain && (cur.sa_flags & SA_RESETHAND));
  send_usr2(3);
  RC_CHECK(calls == 2);
  RC_CHECK(signal(SIGUSR2, SIG_DFL) == SIG_DFL);   /* reset on delivery */
}

static void mode_sigset(void)
{
  RC_CHECK(sigset(SIGUSR2, SIG_HOLD) == SIG_DFL);
  union sigval v = {.sival_int = 7};
  RC_CHECK(sigqueue(getpid(), SIGUSR2, v) == 0);   /* pending while held */
  RC_CHECK(calls == 0);
  RC_CHECK(sigset(SIGUSR2, on_plain) == SIG_HOLD);   /* delivered on unblock */
  wait_snap(++nsnaps);
  RC_CHECK(calls == 1);
  send_usr2(8);
  RC_CHECK(calls == 2);
}

static void mode_other(void)
{
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_plain;
  sigemptyset(&sa.sa_mask);
  RC_CHECK(sigaction(SIGUSR1, &sa, &old) == 0 && old.sa_handler == SIG_DFL);
  RC_CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == on_plain);
  raise(SIGUSR1);
  RC_CHECK(calls == 1);
}

static void mode_signalfd(void)
{
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  int fd = signalfd(-1, &s, SFD_CLOEXEC);
  RC_CHECK(fd >= 0);
  fd = signalfd(fd, &s, SFD_CLOEXEC);   /* said once, not twice */
  RC_CHECK(fd >= 0);
  close(fd);
}

int main(int argc, char **argv)
{
  if (argc < 3) return 2;
  prefix = argv[2];
  const char *m = argv[1];
  if (!strcmp(m, "sigaction")) mode_sigaction();
  else if (!strcmp(m, "resethand")) mode_resethand();
  else if (!strcmp(m, "signal")) mode_signal();
  else if (!strcmp(m, "sigset")) mode_sigset();
  else if (!strcmp(m, "other")) mode_other();
  else if (!strcmp(m, "signalfd")) mode_signalfd();
  else return 2;
  RC_CHECK(!bad);
  printf("ok %s calls=%d\n", m, (int)calls);
  fflush(stdout);
  rc_leak_known();
  rc_scrub();
  return 0;
}
