/* log_path (LSAN_OPTIONS): reachcheck's messages go to PATH.PID instead of
 * stderr, and the file is removed again when nothing was written to it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/runtime.h"

void rc_log_path_open(void)
{
  const char *p = rc_opt.log_path;
  if (!p[0] || !strcmp(p, "stderr")) return;
  if (!strcmp(p, "stdout")) {
    dup2(STDOUT_FILENO, rc_err_fd);
    return;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s.%d", p, (int)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc_log("cannot open log_path file '%s': %s; messages stay on stderr", path, strerror(errno));
    return;
  }
  if (rc_err_fd == 2) rc_err_fd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  else dup2(fd, rc_err_fd);
  close(fd);
}

/* The log file of log_path exists only if something was written to it. */
void rc_log_path_done(void)
{
  const char *p = rc_opt.log_path;
  if (!p[0] || !strcmp(p, "stderr") || !strcmp(p, "stdout")) return;
  struct stat st;
  char path[4200];
  snprintf(path, sizeof path, "%s.%d", p, (int)getpid());
  if (!fstat(rc_err_fd, &st) && st.st_size == 0) unlink(path);
}

