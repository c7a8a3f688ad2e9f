/* Workload 4: scan bandwidth. MIB MiB (default 64) of live data in 8 large
 * blocks held by a global; the data are small integers (not pointers) except
 * one pointer to a 64-byte block every 64 KiB. The exit check must read all
 * of it: bench/run reports MiB scanned per second of check time.
 * usage: big [MIB] */
#include "bench.h"

#define NBIG 8
void *bench_big[NBIG];   /* global roots */

int main(int argc, char **argv)
{
  BENCH_INIT();
  long mib = bench_arg(argc, argv, 1, 64);
  size_t each = (size_t)mib * 1048576 / NBIG, words = each / 8;
  long ptrs = 0;
  for (int b = 0; b < NBIG; b++) {
    uint64_t *w = bench_alloc(each);
    for (size_t i = 0; i < words; i++) w[i] = (i * 2654435761u) & 0xffffffu;
    for (size_t i = 0; i < words; i += 8192) {
      w[i] = (uintptr_t)bench_alloc(64);
      ptrs++;
    }
    bench_big[b] = w;
  }
  printf("%ld MiB in %d blocks, %ld pointers\n", mib, NBIG, ptrs);
  BENCH_RETURN(0);
}
