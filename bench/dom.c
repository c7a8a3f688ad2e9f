/* Workload 5: retention analysis input. N reachable 32-byte blocks (default
 * 1M) in 16 trees held by a global array; every node also points to a
 * pseudo-random earlier node of the same or (1 in 8) another tree, so
 * blocks have several owners and the dominator tree differs from the
 * spanning tree.
 * usage: dom [N] */
#include "bench.h"

#define NTREES 16
struct node { struct node *kid[2], *cross; long v; };
struct node *bench_trees[NTREES];   /* global roots */

int main(int argc, char **argv)
{
  BENCH_INIT();
  long n = bench_arg(argc, argv, 1, 1000000), per = n / NTREES;
  struct node **all = bench_alloc((size_t)n * sizeof *all);   /* freed before exit */
  uint64_t seed = 42;
  long k = 0;
  for (int t = 0; t < NTREES; t++) {
    long base = k;
    for (long i = 0; i < per; i++, k++) {
      struct node *x = bench_alloc(sizeof *x);
      x->kid[0] = x->kid[1] = NULL;
      x->v = k;
      all[k] = x;
      if (i == 0) {
        bench_trees[t] = x;
        x->cross = NULL;
        continue;
      }
      struct node *parent = all[base + (i - 1) / 2];   /* binary heap layout */
      parent->kid[(i - 1) & 1] = x;
      uint64_t r = bench_rand(&seed);
      long lo = (r & 7) == 0 ? 0 : base, span = k - lo;
      x->cross = all[lo + (long)((r >> 8) % (uint64_t)span)];
    }
  }
  free(all);
  printf("%ld nodes in %d trees\n", k, NTREES);
  BENCH_RETURN(0);
}
