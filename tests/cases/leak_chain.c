/* Indirect chain: A -> B -> C, A unreferenced.
 * Expect direct 1 block / 32 bytes (A), indirect 2 blocks / 64 bytes (B, C). */
#include "rc_test.h"

struct node { struct node *next; char pad[24]; };   /* 32 bytes */

RC_NOINLINE void leak_chain_helper(void)
{
  struct node *volatile a = calloc(1, sizeof *a);
  a->next = calloc(1, sizeof *a);
  a->next->next = calloc(1, sizeof *a);
  rc_barrier(a);
  a = NULL;
}

int main(void)
{
  RC_CHECK(sizeof(struct node) == 32);
  leak_chain_helper();
  rc_scrub();
  return 0;
}
