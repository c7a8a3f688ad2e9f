/* Retained sizes by dominators, exactly: several globals retain different
 * amounts, a 20000-byte block is reachable from two globals (g_s1 through
 * a 48-byte holder, g_s2 directly) and so is retained by neither, and a
 * __thread variable retains a two-node chain. Leaks exactly the known block.
 *   g_big   1 block  5000 bytes
 *   g_list 10 blocks 1040 bytes (10 x 104)
 *   t_head  2 blocks  208 bytes
 *   get_cache::cache (a static local) 1 block 64 bytes
 *   g_s1    1 block    48 bytes (its holder only)
 *   g_s2    nothing of its own: not a retainer
 *   shared  1 block  20000 bytes */
#include "rc_test.h"

struct node { struct node *next; char pad[96]; };   /* 104 bytes */
struct holder { void *shared; char pad[40]; };      /* 48 bytes */

struct node *g_list;
void *g_big;
struct holder *g_s1;
void *g_s2;
static __thread struct node *t_head;

RC_NOINLINE void *get_cache(void)
{
  static void *cache;
  if (!cache) cache = malloc(64);
  return NULL;
}

RC_NOINLINE void build(void)
{
  for (int i = 0; i < 10; i++) {
    struct node *n = calloc(1, sizeof *n);
    n->next = g_list;
    g_list = n;
  }
  g_big = malloc(5000);
  void *shared = malloc(20000);
  g_s1 = calloc(1, sizeof *g_s1);
  g_s1->shared = shared;
  g_s2 = shared;
  t_head = calloc(1, sizeof *t_head);
  t_head->next = calloc(1, sizeof *t_head);
  get_cache();
}

int main(void)
{
  build();
  rc_leak_known();
  rc_scrub();
  return 0;
}
