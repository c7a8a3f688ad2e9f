/* Workload 1: allocation throughput. T threads each do N malloc/free pairs
 * of mixed sizes (log-uniform, 16 B to 64 KiB) over a working set of 4096
 * slots, writing the first 16 bytes and the last byte of every block. All
 * blocks are freed at the end: the exit check finds no leaks.
 * usage: alloc THREADS OPS_PER_THREAD [WARM]
 * With WARM, each thread first does WARM pairs, the threads wait for each
 * other, and then each times its N pairs with its own CPU clock; the mean
 * of their ns per pair goes to stdout: the steady state, without start-up,
 * exit or the heap's first growth (bench/run's counters' cost). */
#include "bench.h"
#include <pthread.h>
#include <time.h>

#define SLOTS 4096
static long ops, warm;
static pthread_barrier_t warmed;
static double ns_sum;   /* the threads' measured ns, under ns_lock */
static pthread_mutex_t ns_lock = PTHREAD_MUTEX_INITIALIZER;

static double thread_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *worker(void *arg)
{
  uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)((uintptr_t)arg + 1);
  void **slot = bench_alloc(SLOTS * sizeof(void *));
  memset(slot, 0, SLOTS * sizeof(void *));
  double t0 = 0;
  for (long i = 0; i < warm + ops; i++) {
    if (warm && i == warm) {
      pthread_barrier_wait(&warmed);
      t0 = thread_ns();
    }
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
  if (warm) {
    double ns = thread_ns() - t0;
    pthread_mutex_lock(&ns_lock);
    ns_sum += ns;
    pthread_mutex_unlock(&ns_lock);
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
  warm = bench_arg(argc, argv, 3, 0);
  pthread_t t[64];
  if (threads < 1 || threads > 64 || ops < 1 || warm < 0) return 2;
  if (warm) pthread_barrier_init(&warmed, NULL, (unsigned)threads);
  for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
  for (long i = 0; i < threads; i++) pthread_join(t[i], NULL);
  if (warm) printf("%.3f\n", ns_sum / (double)threads / (double)ops);
  BENCH_RETURN(0);
}
