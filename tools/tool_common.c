/* Small helpers every offline tool uses: allocation that exits on failure,
 * base names of paths, progress on a terminal. */
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

bool ttty(void)
{
  static int t = -1;
  if (t < 0) t = isatty(2);
  return t;
}
