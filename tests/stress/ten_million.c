/* 10 million allocations of mixed sizes through malloc, calloc, realloc and
 * free, with a working set of 1M live blocks kept in a table (reachable),
 * then a chain of 100k leaked nodes. Expect: direct 1 / 24, indirect 99999 /
 * 2399976, reachable >= 1000001 (the table and its blocks). */
#include "stress.h"

#define LIVE (1 << 20)
#define TOTAL 10000000L
static void **g_table;

struct node { struct node *next; char pad[16]; };

RC_NOINLINE static void leak_chain(int n)
{
  struct node *volatile head = NULL;
  for (int i = 0; i < n; i++) {
    struct node *x = malloc(sizeof *x);
    x->next = head;
    head = x;
  }
  rc_barrier(head);
  head = NULL;
}

int main(int argc, char **argv)
{
  long total = argc > 1 ? atol(argv[1]) : TOTAL;
  rcs_watchdog(280);
  rcs_require_runtime();
  g_table = calloc(LIVE, sizeof *g_table);
  RC_CHECK(g_table != NULL);
  uint64_t s = 42;
  for (long i = 0; i < total; i++) {
    uint64_t r = rcs_rand(&s);
    size_t k = (size_t)(r % LIVE);
    size_t n = (r >> 32) % ((r & 0xff) < 4 ? 8192 : 96);
    switch ((r >> 24) & 7) {
    case 0:
      free(g_table[k]);
      g_table[k] = calloc(1, n);
      break;
    case 1:
      if (g_table[k]) {
        void *q = realloc(g_table[k], n + 1);
        RC_CHECK(q != NULL);
        g_table[k] = q;
        break;
      }
      /* fall through */
    default:
      free(g_table[k]);
      g_table[k] = malloc(n);
    }
    RC_CHECK(g_table[k] != NULL || n == 0);
  }
  /* Fill every slot: exactly LIVE blocks are reachable through the table. */
  for (size_t k = 0; k < LIVE; k++)
    if (!g_table[k]) g_table[k] = malloc(1);
  leak_chain(100000);
  rc_scrub();
  printf("%ld allocations ok\n", total);
  return 0;
}
