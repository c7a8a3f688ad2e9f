/* Allocation churn for measuring the cost of a malloc+free pair under the
 * runtime: each thread frees what it allocated, through a 3-frame stack, or
 * with vary=K through K call chains of different depths in turn (so no two
 * consecutive allocation stacks are alike).
 * usage: churn [threads=1] [pairs per thread=10000000] [vary=1] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long pairs = 10000000;
static int vary = 1;

__attribute__((noinline)) static void *leaf(size_t n) { void *p = malloc(n); __asm__ volatile("" ::"r"(p) : "memory"); return p; }
__attribute__((noinline)) static void *mid(size_t n) { void *p = leaf(n); __asm__ volatile(""); return p; }
__attribute__((noinline)) static void *top(size_t n) { void *p = mid(n); __asm__ volatile(""); return p; }

__attribute__((noinline)) static void *deep(int d, size_t n)
{
  void *p = d > 0 ? deep(d - 1, n) : top(n);
  __asm__ volatile("");
  return p;
}

static void *worker(void *arg)
{
  (void)arg;
  if (vary <= 1)
    for (long i = 0; i < pairs; i++) free(top(16 + (size_t)(i & 63)));
  else
    for (long i = 0; i < pairs; i++) free(deep((int)(i % vary), 16 + (size_t)(i & 63)));
  return NULL;
}

int main(int argc, char **argv)
{
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2) pairs = atol(argv[2]);
  if (argc > 3) vary = atoi(argv[3]);
  struct timespec a, b, ca, cb;
  clock_gettime(CLOCK_MONOTONIC, &a);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
  pthread_t t[64];
  if (threads < 1 || threads > 64) return 2;
  for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  double c = (double)(cb.tv_sec - ca.tv_sec) + (double)(cb.tv_nsec - ca.tv_nsec) / 1e9;
  /* wall per pair of one thread; CPU per pair over all threads */
  printf("%d threads x %ld pairs: %.3f s, %.1f ns/pair, cpu %.1f ns/pair\n", threads, pairs, s,
         s * 1e9 / (double)pairs, c * 1e9 / ((double)pairs * threads));
  return 0;
}
