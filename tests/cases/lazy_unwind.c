/* libunwind is initialised at the runtime's first call into it, never at
 * start-up (stack/unwind_verify.c, rc_unw_prepare): a process whose stacks
 * the unwind rows follow pays nothing for it. Its initialisation opens a
 * pipe to probe memory with (Debian's 1.6.2, tdep_init_mem_validate), so
 * "a pipe with both ends open in this process" tells whether it ran:
 * printed as "libunwind pipe at start 0", then "... after the fallback 1"
 * once a block is allocated from a function without unwind tables
 * (lazy_unwind_nocfi.c), whose frame the rows cannot follow: the capture
 * falls back to libunwind. That block (61 bytes) leaks; the test asserts
 * its stack, libunwind's walk through the frame without an FDE, from the
 * JSON report.
 * With "signals": the first call into libunwind comes from signal
 * handlers instead. Four threads recurse and malloc while a profiling
 * timer's handler mallocs in whichever it interrupts; a capture from a
 * handler crosses the signal frame, which only libunwind walks, so
 * libunwind is initialised there, possibly by several threads at once.
 * The storm must end ("storm done", handlers that allocated > 0, the pipe
 * then open) and the known block (77 bytes) be the one leak. */
#include "rc_test.h"
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

void no_cfi_leak(void);   /* lazy_unwind_nocfi.c */

/* Inodes of pipes open twice among this process's descriptors from 3 up
 * (both ends), leaving out those of stdin, stdout and stderr (the launcher's
 * pipes, and the runtime's own copy of stderr). */
static int pipes_both_ends(void)
{
  unsigned long std[3] = {0, 0, 0}, seen[64];
  int nseen = 0, both = 0;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (!fstat(fd, &st) && S_ISFIFO(st.st_mode)) std[fd] = (unsigned long)st.st_ino;
  }
  DIR *d = opendir("/proc/self/fd");
  RC_CHECK(d != NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    struct stat st;
    if (fd < 3 || fd == dirfd(d) || fstat(fd, &st) || !S_ISFIFO(st.st_mode)) continue;
    unsigned long ino = (unsigned long)st.st_ino;
    if (ino == std[0] || ino == std[1] || ino == std[2]) continue;
    for (int i = 0; i < nseen; i++)
      if (seen[i] == ino) both++;
    if (nseen < 64) seen[nseen++] = ino;
  }
  closedir(d);
  return both;
}

static volatile int storm_stop;
static volatile sig_atomic_t storm_mallocs;

static void on_prof(int sig)
{
  (void)sig;
  void *volatile p = malloc(40);
  if (p) storm_mallocs++;
  free(p);
}

static RC_NOINLINE int recurse(int d)
{
  if (d == 0) {
    void *volatile p = malloc(64);
    free(p);
    return 1;
  }
  return recurse(d - 1) + 1;
}

static void *storm_thread(void *arg)
{
  (void)arg;
  long n = 0;
  while (!storm_stop) n += recurse(20);
  return (void *)n;
}

static void storm(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prof;
  sa.sa_flags = SA_RESTART;
  RC_CHECK(sigaction(SIGPROF, &sa, NULL) == 0);
  struct itimerval it = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
  RC_CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) RC_CHECK(pthread_create(&t[i], NULL, storm_thread, NULL) == 0);
  struct timespec ts = {0, 200000000};
  nanosleep(&ts, NULL);
  storm_stop = 1;
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  RC_CHECK(setitimer(ITIMER_PROF, &off, NULL) == 0);
  signal(SIGPROF, SIG_IGN);
  printf("storm done, handlers allocated %s\n", storm_mallocs > 0 ? "yes" : "no");
}

int main(int argc, char **argv)
{
  printf("libunwind pipe at start %d\n", pipes_both_ends());
  if (argc > 1 && !strcmp(argv[1], "signals")) {
    storm();
    printf("libunwind pipe after the storm %d\n", pipes_both_ends());
    fflush(stdout);
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  no_cfi_leak();
  printf("libunwind pipe after the fallback %d\n", pipes_both_ends());
  fflush(stdout);
  rc_scrub();
  return 0;
}
