/* HEAPCHECK's whole-program modes. No stdio (its buffer would be one more
 * block for draconian). Blocks:
 *   P 11  leaked by a constructor, before main
 *   K 77  leaked in main
 *   F 33  allocated in main, kept by a global that a destructor forgets
 *         (sets to NULL without freeing): a leak only after destructors
 *   R 44  reachable from a global to the end
 * minimal   K                  (1 block, 77)
 * normal    P K                (2, 88)    before destructors
 * strict    P K F              (3, 121)   after destructors
 * draconian P K F R            (4, 165)   reachable or not
 * as-is     HEAP_CHECK_* knobs decide; local: no check at all. */
#include "rc_test.h"

static void *volatile g_forgotten;
static void *volatile g_reachable;
static void *volatile handoff;
RC_NOINLINE void alloc_n(size_t n) { handoff = malloc(n); }
RC_NOINLINE void leak_n(size_t n)
{
  void *volatile p = malloc(n);
  p = NULL;
}

__attribute__((constructor)) static void before_main(void) { leak_n(11); }
__attribute__((destructor)) static void forget(void) { g_forgotten = NULL; }

int main(void)
{
  leak_n(77);
  alloc_n(33);
  g_forgotten = handoff;
  alloc_n(44);
  g_reachable = handoff;
  handoff = NULL;
  rc_scrub();
  (void)!write(1, "main done\n", 10);
  return 0;
}
