/* (c) calls through PLT stubs (lazy binding) and into libc callbacks: the
 * comparator of qsort/bsearch compares and mallocs; an IFUNC resolver
 * compares from inside ld.so's lazy binding (a clean fallback is fine
 * there: _dl_runtime_resolve's CFA is rbx-based); the rule for a pc inside
 * a PLT entry (DW_CFA_def_cfa_expression) must be a fallback. */
#include "rcu.h"

typedef int (*rcu_cb)(void);
void plt_set_cb(rcu_cb f);
int plt_sort(int *v, int n);
int plt_chain_a(int d);
int plt_ifn(void);

static int cb(void) { return rcu_compare(); }

int main(void)
{
  plt_set_cb(cb);
  int r = plt_ifn();          /* first call: lazy binding runs the resolver */
  long before = rcu_equal + rcu_fallback;
  int v[4000];
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < 4000; i++) v[i] = (i * 7919 + round) % 4001;
    r += plt_sort(v, 4000);
    for (int d = 0; d < 60; d += 3) r += plt_chain_a(d);
  }
  /* A return address inside this program's PLT entry for plt_sort. */
  uintptr_t stub;
  __asm__("lea plt_sort@PLT(%%rip), %0" : "=r"(stub));
  int cfa_rbp, cfa_off, slot;
  int k = rc_unwind_rule_test(stub + 8, &cfa_rbp, &cfa_off, &slot);
  printf("plt stub %#lx: rule %d (%s)\n", (unsigned long)stub, k, k < 0 ? "fallback" : "cached");
  if (k >= 0) {
    fprintf(stderr, "a PLT entry must not get a fast rule\n");
    return 1;
  }
  printf("%ld comparisons, result %d\n", rcu_equal + rcu_fallback - before, r);
  return rcu_finish("plt", 500, 1);
}
