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
 * JSON report. */
#include "rc_test.h"
#include <dirent.h>
#include <sys/stat.h>

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

int main(void)
{
  printf("libunwind pipe at start %d\n", pipes_both_ends());
  no_cfi_leak();
  printf("libunwind pipe after the fallback %d\n", pipes_both_ends());
  fflush(stdout);
  rc_scrub();
  return 0;
}
