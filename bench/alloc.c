/* Workload 1: allocation throughput. T threads each do N malloc/free pairs
 * of mixed sizes (log-uniform, 16 B to 64 KiB) over a working set of 4096
 * slots, writing the first 16 bytes and the last byte of every block. All
 * blocks are freed at the end: the exit check finds no leaks.
 * usage: alloc THREADS OPS_PER_THREAD */
#include "bench.h"
#include <pthread.h>

#define SLOTS 4096
static long ops;

static void *worker(void *arg)
{
  uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)((uintptr_t)arg + 1);
  void **slot = bench_alloc(SLOTS * sizeof(void *));
  memset(slot, 0, SLOTS * sizeof(void *));
  for (long i = 0; i < ops; i++) {
    uint64_t r = bench_rand(&seed);
    unsigned k = (unsigned)(r % SLOTS);
    unsigned e = 4 + (unsigned)((r >> 12) % 12);          /* 16 B .. 32 KiB octave */
    size_t n = ((size_t)1 << e) + (size_t)((r >> 20) & (((size_t)1 << e) - 1));
    free(slot[k]);
    char *p = bench_alloc(n);
    memset(p, (int)i, 16);
    p[n - 1] = 1;
    slot[k] = p;
  }
  for (unsigned k = 0; k < SLOTS; k++) free(slot[k]);
  free(slot);
  return NULL;
}

int main(int argc, char **argv)
{
  BENCH_INIT();
  long threads = bench_arg(argc, argv, 1, 1);
  ops = bench_arg(argc, argv, 2, 2000000);
  pthread_t t[64];
  if (threads < 1 || threads > 64) return 2;
  for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
  for (long i = 0; i < threads; i++) pthread_join(t[i], NULL);
  BENCH_RETURN(0);
}
