/* Memory the program maps itself is a root (custom allocators' arenas,
 * CPython's obmalloc): blocks whose only pointers live in an anonymous
 * mapping the program made are reachable while the mapping exists and is
 * writable. Blocks:
 *   A 101  pointer in an mmap'd arena: reachable
 *   B 102  pointer in an arena later grown with mremap (moved): reachable
 *   C 103  pointer in the part of an arena that was munmap'd: leaked
 *   D 104  pointer in an arena remapped read-only (mprotect): leaked
 *   E 105  pointer in a MAP_STACK mapping (a stack is no arena): leaked
 *   F 106  pointer in the surviving half of a split arena: reachable
 * plus the known 77. Expect direct 4 (77+103+104+105 = 389); with
 * scan_mappings=0 every one of them: direct 7 (77+621 = 698). */
#include "rc_test.h"
#include <sys/mman.h>

static void *volatile handoff;
RC_NOINLINE void alloc_n(size_t n) { handoff = malloc(n); }
static void *take(size_t n)
{
  alloc_n(n);
  void *p = handoff;
  handoff = NULL;
  return p;
}

static void **arena(size_t bytes, int flags)
{
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
  RC_CHECK(p != MAP_FAILED);
  return (void **)p;
}

int main(void)
{
  void **a = arena(65536, 0);
  a[100] = take(101);

  void **b = arena(4096, 0);
  b[3] = take(102);
  void **b2 = mremap(b, 4096, 1 << 20, MREMAP_MAYMOVE);
  RC_CHECK(b2 != MAP_FAILED);

  void **c = arena(8192, 0);
  c[600] = take(103);                      /* in the second page */
  RC_CHECK(munmap((char *)c + 4096, 4096) == 0);

  void **d = arena(4096, 0);
  d[1] = take(104);
  RC_CHECK(mprotect(d, 4096, PROT_READ) == 0);

  void **e = arena(16384, MAP_STACK);
  e[5] = take(105);

  void **f = arena(3 * 4096, 0);
  f[2 * 512 + 7] = take(106);              /* third page */
  RC_CHECK(munmap((char *)f + 4096, 4096) == 0);   /* a hole in the middle */

  rc_leak_known();
  a = b = b2 = c = d = e = f = NULL;
  rc_scrub();
  printf("mapped\n");
  return 0;
}
