/* Reference for workload 4: single-thread read bandwidth over MIB MiB of
 * 8-byte words (the access pattern of a conservative scan), best of 5.
 * usage: membw [MIB]   prints "membw: X GB/s" */
#include "bench.h"
#include <time.h>

static double now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  long mib = bench_arg(argc, argv, 1, 64);
  size_t words = (size_t)mib * 1048576 / 8;
  uint64_t *w = malloc(words * 8);
  for (size_t i = 0; i < words; i++) w[i] = (i * 2654435761u) & 0xffffffu;
  double best = 1e9;
  uint64_t acc = 0;
  for (int r = 0; r < 5; r++) {
    double t0 = now();
    for (size_t i = 0; i < words; i++) acc += w[i] >= 0x10000000u;   /* a range test per word, as the mark does */
    double t = now() - t0;
    if (t < best) best = t;
  }
  printf("membw: %.1f GB/s\n", (double)words * 8 / best / 1e9);
  fprintf(stderr, "membw: checksum %lu\n", (unsigned long)acc);
  free(w);
  return 0;
}
