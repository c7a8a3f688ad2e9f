/* Workload 7: the issue-16 scaling heap. N live 16-byte blocks held by an
 * array (a global points to it), N/2 more in a list from a global head, and
 * N/4 leaked (dropped as allocated).
 * usage: scale N [THREADS [SNAPSHOT]]
 *   THREADS > 0: that many threads each allocate their share of the array
 *   and list blocks and then wait, alive, until main exits (the check stops
 *   them all).
 *   SNAPSHOT: under reachcheck, write a heap snapshot there before exiting
 *   (reachcheck_snapshot, found with dlsym: the workload links nothing of
 *   reachcheck) and print how long the call took and the peak RSS of the
 *   forked copy that wrote it. */
#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include "bench.h"

void **bench_arr;           /* global root: the array */
struct node { struct node *next; long v; };
struct node *bench_head;    /* global root: the list */
static long n_total;
static int n_threads;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t done;

static void fill(long lo, long hi)
{
  struct node *h = NULL, *t = NULL;
  for (long i = lo; i < hi; i++) {
    long *p = bench_alloc(16);
    p[0] = i;
    p[1] = ~i;
    bench_arr[i] = p;
    if (!(i & 1)) {
      struct node *x = bench_alloc(sizeof *x);
      x->next = h;
      x->v = i;
      if (!h) t = x;
      h = x;
    }
    if (!(i & 3)) bench_sink(bench_alloc(16));   /* leaked */
  }
  if (!h) return;
  pthread_mutex_lock(&list_lock);
  t->next = bench_head;
  bench_head = h;
  pthread_mutex_unlock(&list_lock);
}

static void *worker(void *arg)
{
  long k = (long)arg, share = n_total / n_threads;
  fill(k * share, k == n_threads - 1 ? n_total : (k + 1) * share);
  pthread_barrier_wait(&done);
  pause();   /* alive at exit */
  return NULL;
}

int main(int argc, char **argv)
{
  BENCH_INIT();
  n_total = bench_arg(argc, argv, 1, 1000000);
  n_threads = (int)bench_arg(argc, argv, 2, 0);
  bench_arr = bench_alloc((size_t)n_total * sizeof(void *));
  if (n_threads <= 0) {
    fill(0, n_total);
  } else {
    pthread_barrier_init(&done, NULL, (unsigned)n_threads + 1);
    for (long k = 0; k < n_threads; k++) {
      pthread_t t;
      pthread_attr_t a;
      pthread_attr_init(&a);
      pthread_attr_setstacksize(&a, 256 << 10);
      if (pthread_create(&t, &a, worker, (void *)k)) return 1;
    }
    pthread_barrier_wait(&done);
  }
  printf("%ld array, %ld list, %ld leaked, %d threads\n", n_total, (n_total + 1) / 2, (n_total + 3) / 4, n_threads);
  int (*snap)(const char *) = argc > 3 ? (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot") : NULL;
  if (snap) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = snap(argv[3]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("snapshot %s: %d in %.0f ms, copy peak RSS %.0f MiB\n", argv[3], rc,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6, ru.ru_maxrss / 1024.0);
  }
  BENCH_RETURN(0);
}
