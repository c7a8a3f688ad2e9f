/* Progress of long work (a check over millions of blocks, the dominator
 * tree) on a terminal; quiet when stderr is not one. */
#include <stdio.h>
#include <unistd.h>
#include "base.h"

bool rc_progress_tty(uint64_t work)
{
  return rc_opt.progress && work > (1u << 20) && isatty(rc_err_fd);
}

void rc_progress(bool tty, const char *what, uint64_t i, uint64_t n)
{
  if (!tty) return;
  char buf[128];
  int k = i >= n ? snprintf(buf, sizeof buf, "\r\033[K")
                 : snprintf(buf, sizeof buf, "\rreachcheck: %s %llu of %llu", what, (unsigned long long)i,
                            (unsigned long long)n);
  if (k > 0) (void)!write(rc_err_fd, buf, (size_t)k);
}


