/* The tracked heap on transparent huge pages (core/heap/hugepage.c): 2M
 * blocks of 16 bytes (64 MiB with headers) stay reachable from a global
 * array, one known block leaks. The program then reads /proc/self/smaps and
 * prints whether the mapping that holds its last block is advised
 * MADV_HUGEPAGE ("hg" in VmFlags): with the defaults the heap passes huge_pages=8 MiB long before that block;
 * with huge_pages=0 nothing is advised. The report must be exact either way
 * (Boehm's sections mapped at addresses it did not pick): the array, its
 * blocks and stdout's 4 KiB buffer are reachable. */
#include "rc_test.h"

#define N 2000000L
void **g_blocks;

RC_NOINLINE void leak_known(void) { rc_barrier(malloc(RC_KNOWN_SIZE)); }

/* "hg" in the VmFlags of the mapping holding address a: 1, 0, or -1 when
 * no mapping holds it. */
static int advised(uintptr_t a)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  RC_CHECK(f);
  char line[512];
  int in = 0, hg = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {   /* a mapping's first line */
      in = a >= lo && a < hi;
      continue;
    }
    if (in && !strncmp(line, "VmFlags:", 8)) hg = strstr(line, " hg") != NULL;
  }
  fclose(f);
  return hg;
}

int main(void)
{
  g_blocks = malloc(N * sizeof *g_blocks);
  for (long i = 0; i < N; i++) {
    long *p = malloc(16);
    p[0] = i;
    g_blocks[i] = p;
  }
  leak_known();
  printf("heap hg=%d\n", advised((uintptr_t)g_blocks[N - 1]));
  rc_scrub();
  return 0;
}
