/* Hostile input to the allocator: every misuse must give one clear
 * diagnostic naming it, with the stack of the offending call, and the
 * program continues with a working heap (abort_on_error=0). Modes:
 *   double_large      free twice a 5000-byte block (not thread-cached)
 *   double_thread     free in one thread, again in another
 *   invalid_mmap      free of a pointer into an mmap'd page
 *   invalid_stack     realloc of a stack address
 *   interior          free(p + 8), free(p + size - 1), realloc(p + 16)
 *   interior_aligned  free of the padding in front of a memalign(256) block
 *   realloc_freed     realloc of a freed 5000-byte block
 *   corrupt_free      16 bytes of 'A' written past a block's end into the next
 *                     block's header, then free of that next block
 *   corrupt_zero      the same overflow writing zeros
 *   corrupt_size      only the size word of the next header rewritten
 *   corrupt_realloc   overflow, then realloc of the next block
 *   corrupt_exit      overflow and exit: the check must skip the block
 * Each mode leaks exactly the known block (1 / 77); corrupt_* modes leave the
 * damaged block alone, so the at-exit report counts 1 corrupt block. */
#include "stress.h"
#include <sys/mman.h>

RC_NOINLINE static void *volatile_id(void *p)
{
  rc_barrier(p);
  return p;
}

/* Two same-size blocks where b's header directly follows a's user bytes. */
static void adjacent(size_t size, char **a, char **b)
{
  char *v[256];
  int ia = -1, ib = -1;
  for (int i = 0; i < 256; i++) v[i] = malloc(size);
  for (int i = 0; i < 256 && ia < 0; i++)
    for (int k = 0; k < 256; k++)
      if (v[k] == v[i] + size + 16) {
        ia = i;
        ib = k;
        break;
      }
  RC_CHECK(ia >= 0);
  for (int i = 0; i < 256; i++)
    if (i != ia && i != ib) free(v[i]);
  *a = v[ia];
  *b = v[ib];
}

RC_NOINLINE void hostile_double_large(void)
{
  char *p = malloc(5000);
  free(p);
  free(volatile_id(p));
}

static void *free_it(void *p)
{
  free(p);
  return NULL;
}

RC_NOINLINE void hostile_double_thread(void)
{
  char *p = malloc(40);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, free_it, p) == 0);
  RC_CHECK(pthread_join(t, NULL) == 0);
  free(volatile_id(p));
}

RC_NOINLINE void hostile_invalid_mmap(void)
{
  char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  RC_CHECK(m != MAP_FAILED);
  free(m + 64);
  munmap(m, 4096);
}

RC_NOINLINE void hostile_invalid_stack(void)
{
  char local[64];
  void *q = realloc(volatile_id(local), 10);
  free(q);
}

RC_NOINLINE void hostile_interior(void)
{
  char *p = malloc(100);
  free(volatile_id(p + 8));
  free(volatile_id(p + 99));
  void *q = realloc(volatile_id(p + 16), 200);
  free(q);
  free(p);
}

RC_NOINLINE void hostile_interior_aligned(void)
{
  char *p = memalign(256, 100);
  RC_CHECK(((uintptr_t)p & 255) == 0);
  free(volatile_id(p - 16));
  free(p);
}

RC_NOINLINE void hostile_realloc_freed(void)
{
  char *p = malloc(5000);
  free(p);
  void *q = realloc(volatile_id(p), 6000);
  free(q);
}

static char *g_victim;   /* the block with the damaged header: left alone */

RC_NOINLINE static void overflow(int how)
{
  char *a, *b;
  adjacent(32, &a, &b);
  g_victim = b;
  if (how == 0) memset(a, 'A', 32 + 16);           /* classic overflow */
  else if (how == 1) memset(a, 0, 32 + 16);        /* zeroing overflow */
  else ((uint64_t *)(a + 32))[1] ^= (uint64_t)1 << 30;   /* the size word only */
  free(a);
}

RC_NOINLINE void hostile_corrupt_free(void) { overflow(0); free(volatile_id(g_victim)); }
RC_NOINLINE void hostile_corrupt_zero(void) { overflow(1); free(volatile_id(g_victim)); }
RC_NOINLINE void hostile_corrupt_size(void) { overflow(2); free(volatile_id(g_victim)); }
RC_NOINLINE void hostile_corrupt_realloc(void)
{
  overflow(0);
  void *q = realloc(volatile_id(g_victim), 64);
  RC_CHECK(q != g_victim);
  free(q);
}
RC_NOINLINE void hostile_corrupt_exit(void) { overflow(0); }

static const struct { const char *name; void (*fn)(void); } modes[] = {
  {"double_large", hostile_double_large}, {"double_thread", hostile_double_thread},
  {"invalid_mmap", hostile_invalid_mmap}, {"invalid_stack", hostile_invalid_stack},
  {"interior", hostile_interior}, {"interior_aligned", hostile_interior_aligned},
  {"realloc_freed", hostile_realloc_freed}, {"corrupt_free", hostile_corrupt_free},
  {"corrupt_zero", hostile_corrupt_zero}, {"corrupt_size", hostile_corrupt_size},
  {"corrupt_realloc", hostile_corrupt_realloc}, {"corrupt_exit", hostile_corrupt_exit},
};

int main(int argc, char **argv)
{
  rcs_watchdog(60);
  rcs_require_runtime();
  const char *mode = argc > 1 ? argv[1] : "";
  int found = 0;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
    if (!strcmp(mode, modes[i].name)) {
      modes[i].fn();
      found = 1;
    }
  if (!found) rc_fail("unknown mode");
  /* the heap still works: fresh blocks are distinct, writable, and survive */
  char *blocks[300];
  for (int i = 0; i < 300; i++) {
    blocks[i] = malloc((size_t)(i % 7) * 20 + 8);
    memset(blocks[i], i, (size_t)(i % 7) * 20 + 8);
  }
  for (int i = 0; i < 300; i++) {
    for (int j = 0; j < i; j++) RC_CHECK(blocks[i] != blocks[j]);
    RC_CHECK(blocks[i][0] == (char)i);
  }
  for (int i = 0; i < 300; i++) free(blocks[i]);
  rc_leak_known();
  printf("continued\n");
  fflush(stdout);
  rc_scrub();
  return 0;
}
