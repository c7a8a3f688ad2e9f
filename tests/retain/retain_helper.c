/* A heap big enough for the at-exit check to start its helper thread
 * (core/check/check.c: 256k slots): a global array retains ARR blocks of 24
 * bytes, a global list LIST nodes; the known 77-byte block leaks. The same
 * exact totals are expected with the retention pass on the helper thread
 * (beside the leak aggregation) and with check_helper=0 (one thread).
 *   usage: retain_helper ARR LIST */
#include "rc_test.h"

struct node { struct node *next; long v; };
void **helper_arr;
struct node *helper_list;

RC_NOINLINE static void build(long arr, long list)
{
  helper_arr = malloc((size_t)arr * sizeof *helper_arr);
  for (long i = 0; i < arr; i++) helper_arr[i] = malloc(24);
  for (long i = 0; i < list; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = helper_list;
    n->v = i;
    helper_list = n;
  }
}

int main(int argc, char **argv)
{
  build(argc > 1 ? atol(argv[1]) : 200000, argc > 2 ? atol(argv[2]) : 100000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
