/* Leaks under a leaked head: H(64) -> C1(16), C2(16), C3(16); C1 -> G(8);
 * G -> C2 (a second path). H is direct; C1, C2, C3, G are indirect.
 * Also a reachable head R(64) (global) whose children are reachable, and a
 * leaked node L(8) hanging off nothing but pointing INTO the reachable tree
 * (pointing at reachable memory does not make L reachable).
 * Expect direct 2 blocks / 72 bytes (H, L), indirect 4 blocks / 56 bytes. */
#include "rc_test.h"

void **g_reachable_head;

RC_NOINLINE void make_reachable_tree(void)
{
  g_reachable_head = calloc(8, 8);
  for (int i = 0; i < 4; i++) g_reachable_head[i] = calloc(1, 16);
}

RC_NOINLINE void leak_tree_helper(void)
{
  void **volatile h = calloc(8, 8);
  void **c1 = calloc(2, 8), **c2 = calloc(2, 8), **c3 = calloc(2, 8);
  void **g = calloc(1, 8);
  h[0] = c1; h[3] = c2; h[7] = c3;
  c1[1] = g;
  g[0] = c2;
  void **volatile l = calloc(1, 8);
  l[0] = g_reachable_head[2];
  rc_barrier(h);
  rc_barrier(l);
  h = l = NULL;
  c1 = c2 = c3 = g = NULL;
}

int main(void)
{
  make_reachable_tree();
  leak_tree_helper();
  rc_scrub();
  return 0;
}
