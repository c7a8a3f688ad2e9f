/* Sorting without allocating: qsort may malloc (glibc's msort), which code
 * running with the world stopped or in a forked copy must not. */
#include "base.h"

static void swap_bytes(char *a, char *b, size_t size)
{
  while (size--) {
    char t = *a;
    *a++ = *b;
    *b++ = t;
  }
}

static void sift(char *base, size_t i, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && cmp(base + (c + 1) * size, base + c * size) > 0) c++;
    if (cmp(base + i * size, base + c * size) >= 0) return;
    swap_bytes(base + i * size, base + c * size, size);
    i = c;
  }
}

void rc_heapsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  char *b = base;
  for (size_t i = n / 2; i-- > 0;) sift(b, i, n, size, cmp);
  for (size_t e = n; e-- > 1;) {
    swap_bytes(b, b + e * size, size);
    sift(b, 0, e, size, cmp);
  }
}

