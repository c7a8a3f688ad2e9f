/* Workload 3: a reachable singly linked list of N nodes (default 1M, head in
 * a global) plus a leaked chain of M nodes (default 200k: one direct leak,
 * M-1 indirect). Tests the depth of the mark stack. Nodes are 32 bytes.
 * usage: list [N] [M] */
#include "bench.h"

struct node { struct node *next; long a, b, c; };
struct node *bench_list;   /* global root */

static struct node *chain(long n)
{
  struct node *head = NULL;
  for (long i = 0; i < n; i++) {
    struct node *x = bench_alloc(sizeof *x);
    x->next = head;
    x->a = i;
    x->b = x->c = 0;
    head = x;
  }
  return head;
}

int main(int argc, char **argv)
{
  BENCH_INIT();
  long n = bench_arg(argc, argv, 1, 1000000), m = bench_arg(argc, argv, 2, 200000);
  bench_list = chain(n);
  struct node *leak = chain(m);
  long k = 0;
  for (struct node *x = leak; x; x = x->next) k++;
  bench_sink(leak);
  leak = NULL;
  printf("list %ld reachable, chain %ld leaked\n", n, k);
  BENCH_RETURN(0);
}
