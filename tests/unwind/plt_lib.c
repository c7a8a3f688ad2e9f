/* Library side of plt.c: recursion through its own PLT (exported functions
 * of a -fPIC library are called through the PLT), libc calling back into it
 * (qsort, bsearch), and an IFUNC whose resolver runs inside ld.so's lazy
 * binding. */
#include <stdlib.h>

typedef int (*rcu_cb)(void);
static rcu_cb cb;
static volatile int sink;

void plt_set_cb(rcu_cb f) { cb = f; }

static int cmp(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  if (((x ^ y) & 31) == 0) {
    void *volatile p = malloc(16);   /* libc's qsort -> comparator -> malloc */
    cb();
    free(p);
  }
  return (x > y) - (x < y);
}

int plt_sort(int *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, cmp);
  int key = v[n / 2];
  return bsearch(&key, v, (size_t)n, sizeof *v, cmp) != NULL;
}

int plt_chain_b(int d);
int plt_chain_a(int d)
{
  if (d <= 0) return cb();
  return plt_chain_b(d - 1) + 1;   /* through this library's PLT */
}
int plt_chain_b(int d)
{
  volatile char buf[200];
  buf[d % 200] = 1;
  return plt_chain_a(d - 1) + buf[d % 200];
}

static int ifn_impl(void) { return cb() + 1; }
static void *ifn_resolve(void)
{
  if (cb) sink += cb();   /* under _dl_fixup, below _dl_runtime_resolve */
  return (void *)ifn_impl;
}
int plt_ifn(void) __attribute__((ifunc("ifn_resolve")));
