/* Scale: a 1M-node list reachable from a global and a 200k-node chain that
 * is leaked (its head is direct, the rest indirect). Needs an explicit mark
 * stack (recursion would overflow) and a fast block index.
 * Nodes are 16 bytes. Expect direct 1 / 16, indirect 199999 / 3199984,
 * reachable >= 1000000. */
#include "rc_test.h"

struct node { struct node *next; long v; };
struct node *g_list;

RC_NOINLINE void build_reachable(long n)
{
  for (long i = 0; i < n; i++) {
    struct node *x = malloc(sizeof *x);
    x->v = i;
    x->next = g_list;
    g_list = x;
  }
}

RC_NOINLINE void leak_chain(long n)
{
  /* head first, so marking from the head walks the chain in one direction */
  struct node *volatile head = malloc(sizeof *head);
  struct node *tail = head;
  for (long i = 1; i < n; i++) {
    tail->next = malloc(sizeof *tail);
    tail = tail->next;
    tail->v = i;
  }
  tail->next = NULL;
  tail = NULL;
  head = NULL;
}

int main(void)
{
  build_reachable(1000000);
  leak_chain(200000);
  rc_scrub();
  return 0;
}
