/* Sorting without allocating: qsort may malloc (glibc's msort), which code
 * running with the world stopped or in a forked copy must not. */
#include <string.h>
#include "base.h"

/* A word at a time (the elements are ids and structs of words), then bytes. */
static void swap_bytes(char *a, char *b, size_t size)
{
  for (; size >= sizeof(uint64_t); size -= sizeof(uint64_t), a += sizeof(uint64_t), b += sizeof(uint64_t)) {
    uint64_t t;
    memcpy(&t, a, sizeof t);
    memcpy(a, b, sizeof t);
    memcpy(b, &t, sizeof t);
  }
  if (size >= sizeof(uint32_t)) {
    uint32_t t;
    memcpy(&t, a, sizeof t);
    memcpy(a, b, sizeof t);
    memcpy(b, &t, sizeof t);
    size -= sizeof t, a += sizeof t, b += sizeof t;
  }
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

/* A heap of the k elements that sort first so far, the one that sorts last
 * at its root: an element that sorts before the root replaces it. Then the
 * heap is sorted: O(n log k), not O(n log n) (the JSON report ranks some
 * 10^5 stacks for its first 20). */
size_t rc_sort_first(void *base, size_t n, size_t size, size_t k, int (*cmp)(const void *, const void *))
{
  char *b = base;
  if (k > n) k = n;
  if (!k) return 0;
  for (size_t i = k / 2; i-- > 0;) sift(b, i, k, size, cmp);
  for (size_t i = k; i < n; i++) {
    if (cmp(b + i * size, b) >= 0) continue;
    swap_bytes(b, b + i * size, size);
    sift(b, 0, k, size, cmp);
  }
  for (size_t e = k; e-- > 1;) {
    swap_bytes(b, b + e * size, size);
    sift(b, 0, e, size, cmp);
  }
  return k;
}

/* The whole array: every element is among the first n. */
void rc_heapsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
  rc_sort_first(base, n, size, n, cmp);
}

/* Least significant byte first: a pass per byte of the key, each a stable
 * scatter by that byte, so the result is ordered by the whole key and keeps
 * equal keys in their input order. A byte that is the same in every key
 * (the high bytes of a module's addresses) costs no pass: one counting pass
 * fills all eight histograms first. Written here rather than taken from a
 * library: libc has no radix sort, and qsort may malloc (see the top). */
bool rc_radix_sort(void *base, size_t n, size_t size, uint64_t (*key)(const void *))
{
  if (n < 2) return true;
  size_t (*count)[256] = rc_mmap(sizeof(size_t[8][256]));
  char *tmp = rc_mmap(n * size);
  if (!count || !tmp) {
    rc_munmap(count, sizeof(size_t[8][256]));
    rc_munmap(tmp, n * size);
    return false;
  }
  char *src = base, *dst = tmp;
  for (size_t i = 0; i < n; i++) {
    uint64_t k = key(src + i * size);
    for (unsigned b = 0; b < 8; b++) count[b][(k >> (8 * b)) & 0xff]++;
  }
  for (unsigned b = 0; b < 8; b++) {
    size_t *c = count[b];
    if (c[(key(src) >> (8 * b)) & 0xff] == n) continue;   /* one value in every key */
    for (size_t v = 0, at = 0; v < 256; v++) {   /* counts -> where each value's run starts */
      size_t k = c[v];
      c[v] = at;
      at += k;
    }
    for (size_t i = 0; i < n; i++) {
      const char *e = src + i * size;
      memcpy(dst + c[(key(e) >> (8 * b)) & 0xff]++ * size, e, size);
    }
    char *t = src;
    src = dst;
    dst = t;
  }
  if (src != base) memcpy(base, src, n * size);
  rc_munmap(count, sizeof(size_t[8][256]));
  rc_munmap(tmp, n * size);
  return true;
}
