/* Every allocation function: each leaks exactly one block from its own
 * helper (so each is its own leak group), keeps one reachable block, and
 * frees one correctly (no diagnostic may appear). Semantics are checked too.
 *
 * Leaks (requested sizes):
 *   malloc 10, calloc(3,7) 21, realloc(NULL,30) 30, realloc grow 5->50 50,
 *   realloc shrink 200->20 20, reallocarray(NULL,4,10) 40, memalign(64,60) 60,
 *   posix_memalign(256,70) 70, aligned_alloc(128,256) 256, valloc(90) 90,
 *   pvalloc(100) 4096 (pvalloc rounds the request up to a page), malloc(0) 0
 * Expect direct 12 blocks / 4743 bytes, indirect 0. */
#include "rc_test.h"
#include <errno.h>
#include <malloc.h>

void *g_keep[16];

#define LEAK(name, expr)                         \
  RC_NOINLINE void name(void)                    \
  {                                              \
    void *volatile p = (expr);                   \
    RC_CHECK(p != NULL);                         \
    rc_barrier(p);                               \
    p = NULL;                                    \
  }

LEAK(leak_malloc, malloc(10))
LEAK(leak_calloc, calloc(3, 7))
LEAK(leak_realloc_null, realloc(NULL, 30))
LEAK(leak_reallocarray, reallocarray(NULL, 4, 10))
LEAK(leak_memalign, memalign(64, 60))
LEAK(leak_aligned_alloc, aligned_alloc(128, 256))
LEAK(leak_valloc, valloc(90))
LEAK(leak_pvalloc, pvalloc(100))
LEAK(leak_malloc0, malloc(0))

RC_NOINLINE void leak_realloc_grow(void)
{
  char *volatile p = malloc(5);
  memcpy(p, "abcd", 5);
  p = realloc(p, 50);
  RC_CHECK(p && memcmp(p, "abcd", 5) == 0);
  p = NULL;
}

RC_NOINLINE void leak_realloc_shrink(void)
{
  char *volatile p = malloc(200);
  memset(p, 7, 200);
  p = realloc(p, 20);
  RC_CHECK(p && p[0] == 7 && p[19] == 7);
  p = NULL;
}

RC_NOINLINE void leak_posix_memalign(void)
{
  void *volatile p = NULL;
  RC_CHECK(posix_memalign((void **)&p, 256, 70) == 0);
  RC_CHECK(((uintptr_t)p & 255) == 0);
  p = NULL;
}

RC_NOINLINE void semantics(void)
{
  /* calloc returns zeroed memory even when it reuses a dirty block */
  for (int round = 0; round < 50; round++) {
    char *d = malloc(100);
    memset(d, 0xaa, 100);
    free(d);
    unsigned char *z = calloc(1, 100);
    for (int i = 0; i < 100; i++) RC_CHECK(z[i] == 0);
    free(z);
  }
  /* overflow and impossible sizes fail with ENOMEM */
  errno = 0;
  RC_CHECK(calloc(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
  errno = 0;
  RC_CHECK(reallocarray(NULL, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
  errno = 0;
  RC_CHECK(malloc(SIZE_MAX - 4096) == NULL && errno == ENOMEM);
  void *q = NULL;
  RC_CHECK(posix_memalign(&q, 3, 16) == EINVAL);
  RC_CHECK(posix_memalign(&q, 4, 16) == EINVAL);   /* < sizeof(void *) */
  /* alignments */
  for (size_t al = 8; al <= 65536; al *= 2) {
    void *a = memalign(al, 24);
    void *b = aligned_alloc(al, al);
    void *c = NULL;
    RC_CHECK(posix_memalign(&c, al, 40) == 0);
    RC_CHECK(((uintptr_t)a % al) == 0 && ((uintptr_t)b % al) == 0 && ((uintptr_t)c % al) == 0);
    RC_CHECK(malloc_usable_size(a) >= 24 && malloc_usable_size(b) >= al && malloc_usable_size(c) >= 40);
    free(a);
    free(b);
    free(c);
  }
  void *v = valloc(1);
  RC_CHECK(((uintptr_t)v & 4095) == 0);
  free(v);
  void *pv = pvalloc(1);
  RC_CHECK(((uintptr_t)pv & 4095) == 0 && malloc_usable_size(pv) >= 4096);
  free(pv);
  /* malloc(0): distinct, freeable */
  void *m0 = malloc(0), *m1 = malloc(0);
  RC_CHECK(m0 && m1 && m0 != m1);
  free(m0);
  free(m1);
  /* usable size is at least the request; NULL has 0 */
  RC_CHECK(malloc_usable_size(NULL) == 0);
  for (size_t n = 1; n < 5000; n = n * 3 + 1) {
    char *p = malloc(n);
    RC_CHECK(malloc_usable_size(p) >= n);
    memset(p, 1, malloc_usable_size(p));   /* the whole usable size is writable */
    free(p);
  }
  /* realloc keeps contents across many sizes */
  char *r = NULL;
  for (size_t n = 1; n < 200000; n = n * 2 + 3) {
    r = realloc(r, n);
    r[n - 1] = (char)n;
    if (n > 1) RC_CHECK(r[0] == 1);
    r[0] = 1;
  }
  free(r);
  free(NULL);
}

RC_NOINLINE void keep_one_of_each(void)
{
  int i = 0;
  g_keep[i++] = malloc(11);
  g_keep[i++] = calloc(2, 11);
  g_keep[i++] = realloc(NULL, 31);
  g_keep[i++] = reallocarray(NULL, 3, 11);
  g_keep[i++] = memalign(32, 61);
  RC_CHECK(posix_memalign(&g_keep[i++], 64, 71) == 0);
  g_keep[i++] = aligned_alloc(64, 128);
  g_keep[i++] = valloc(91);
  g_keep[i++] = pvalloc(101);
  g_keep[i++] = malloc(0);
  for (int j = 0; j < i; j++) RC_CHECK(g_keep[j] != NULL);
}

int main(void)
{
  semantics();
  keep_one_of_each();
  leak_malloc();
  leak_calloc();
  leak_realloc_null();
  leak_realloc_grow();
  leak_realloc_shrink();
  leak_reallocarray();
  leak_memalign();
  leak_posix_memalign();
  leak_aligned_alloc();
  leak_valloc();
  leak_pvalloc();
  leak_malloc0();
  rc_scrub();
  return 0;
}
