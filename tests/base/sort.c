/* core/base/sort.c against a reference: rc_radix_sort (stable, ascending by
 * a 64-bit key), rc_heapsort and rc_sort_first (ordered by a comparison),
 * on random arrays whose keys share high bytes (the radix sort's skipped
 * passes), repeat (its stability), span every byte, and on the edge sizes.
 * Exit 0 when every case matches, else one line naming the first case
 * that does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/base.h"

struct el { uint64_t key; uint32_t seq; uint32_t pad; uint64_t tail; };   /* 24 bytes, as symbols/elfsyms.c's */

static uint64_t el_key(const void *a) { return ((const struct el *)a)->key; }
static int el_cmp(const void *a, const void *b)
{
  const struct el *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;   /* the input order: what a stable sort keeps */
}
static int key_cmp(const void *a, const void *b)
{
  const struct el *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* keys: 0 every byte random, 1 a module's addresses (one high part, 20
 * random low bits), 2 few values (many repeats), 3 all equal */
static uint64_t make_key(int shape)
{
  switch (shape) {
  case 0: return next();
  case 1: return 0x7f12a4400000ull + (next() & 0xfffff);
  case 2: return next() % 7 * 0x0101010101010101ull;
  default: return 42;
  }
}

static int check(size_t n, int shape)
{
  struct el *a = malloc((n ? n : 1) * sizeof *a), *ref = malloc((n ? n : 1) * sizeof *ref);
  if (!a || !ref) return 1;
  for (size_t i = 0; i < n; i++) a[i] = (struct el){make_key(shape), (uint32_t)i, 0, next()};
  memcpy(ref, a, n * sizeof *a);
  qsort(ref, n, sizeof *ref, el_cmp);
  int bad = 0;
  struct el *r = malloc((n ? n : 1) * sizeof *r);
  memcpy(r, a, n * sizeof *a);
  if (!rc_radix_sort(r, n, sizeof *r, el_key) || (n && memcmp(r, ref, n * sizeof *r))) {
    printf("FAIL rc_radix_sort n=%zu shape=%d: not the stable order\n", n, shape);
    bad = 1;
  }
  memcpy(r, a, n * sizeof *a);
  rc_heapsort(r, n, sizeof *r, el_cmp);
  if (n && memcmp(r, ref, n * sizeof *r)) {
    printf("FAIL rc_heapsort n=%zu shape=%d\n", n, shape);
    bad = 1;
  }
  size_t k = n / 3 + 1;
  memcpy(r, a, n * sizeof *a);
  size_t got = rc_sort_first(r, n, sizeof *r, k, key_cmp);
  if (got != (k < n ? k : n)) {
    printf("FAIL rc_sort_first n=%zu k=%zu: returned %zu\n", n, k, got);
    bad = 1;
  }
  for (size_t i = 0; i < got; i++)
    if (r[i].key != ref[i].key) {
      printf("FAIL rc_sort_first n=%zu k=%zu shape=%d: element %zu\n", n, k, shape, i);
      bad = 1;
      break;
    }
  free(a), free(ref), free(r);
  return bad;
}

int main(void)
{
  static const size_t sizes[] = {0, 1, 2, 3, 255, 256, 257, 1000, 12345, 100000};
  int bad = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
    for (int shape = 0; shape < 4; shape++) bad |= check(sizes[s], shape);
  if (!bad) printf("ok: rc_radix_sort, rc_heapsort, rc_sort_first on %zu sizes x 4 key shapes\n", sizeof sizes / sizeof *sizes);
  return bad;
}
