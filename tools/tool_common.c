/* Small helpers every offline tool uses: allocation that exits on failure,
 * base names of paths, the output (stdout or a file written atomically). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tool_common.h"

void *txmalloc(size_t n)
{
  void *p = calloc(1, n ? n : 1);
  if (!p) {
    fprintf(stderr, "reachcheck: out of memory\n");
    exit(2);
  }
  return p;
}

void *txrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "reachcheck: out of memory\n");
    exit(2);
  }
  return q;
}

char *txstrdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = txmalloc(n);
  memcpy(p, s, n);
  return p;
}

const char *tbase(const char *path)
{
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path ? path : "?";
}

static int cannot_write(const struct tout *t, const char *why)
{
  if (t->path) fprintf(stderr, "reachcheck %s: cannot write '%s': %s\n", t->tool, t->path, why);
  else fprintf(stderr, "reachcheck %s: cannot write to stdout: %s\n", t->tool, why);
  return -1;
}

static const char *error_text(void) { return strerror(errno ? errno : EIO); }

int tout_open(struct tout *t, const char *tool, const char *path)
{
  memset(t, 0, sizeof *t);
  t->tool = tool;
  t->path = path;
  if (!path) {
    t->f = stdout;
    return 0;
  }
  if (rc_out_open(&t->out, path, false)) return cannot_write(t, t->out.why);
  /* The stream writes through a copy of the descriptor: rc_out_commit
   * closes the writer's own. */
  int fd = dup(t->out.fd);
  if (fd < 0 || !(t->f = fdopen(fd, "w"))) {
    cannot_write(t, error_text());
    if (fd >= 0) close(fd);
    rc_out_abort(&t->out);
    return -1;
  }
  return 0;
}

/* A failed write sets the stream's error flag and errno, which says why. */
int tout_close(struct tout *t)
{
  if (t->f == stdout) return fflush(stdout) || ferror(stdout) ? cannot_write(t, error_text()) : 0;
  bool bad = ferror(t->f) != 0;
  if (fclose(t->f)) bad = true;
  if (bad) {
    cannot_write(t, error_text());
    rc_out_abort(&t->out);
    return -1;
  }
  return rc_out_commit(&t->out) ? cannot_write(t, t->out.why) : 0;
}
