/* A program with a known shape over time (tests/overtime/run_overtime.py):
 *   phase 1: temp_work: 1000 blocks of 100-149 bytes, each freed before the
 *            next allocation (1000 temporary allocations);
 *   phase 2: big_alloc: 10 blocks of 1 MiB (the peak: 10 MiB), freed newest
 *            first (the newest is freed before anything else is allocated:
 *            1 more temporary allocation);
 *   phase 3: hold_alloc: 1 MiB kept in g_hold until exit;
 *   and one leaked block of RC_KNOWN_SIZE bytes (the check ran).
 * The phase boundaries go to stderr (unbuffered: no stdio buffer is
 * allocated) as "tN <CLOCK_MONOTONIC ms>".
 * "snap DIR": also writes snapshots DIR/1.snap.json after phase 1 and
 * DIR/2.snap.json after phase 3 (reachcheck_snapshot, found with dlsym).
 * "threads": instead, two threads each do 500 temp_work, take 5 big_alloc
 * blocks, wait for each other (10 MiB live at once: the peak), free theirs.
 * "long MS": instead, a sawtooth for MS milliseconds of CPU time: saw_alloc takes 64
 * blocks of 1 KiB and frees them, 1 to 64 at a time, over and over (the
 * timeline takes a point every few milliseconds and coarsens).
 * "parked": instead, frees that idle threads have not handed on make the
 * total read high near the peak (docs/over-time.md, "How the peak is
 * found"): peak_alloc's 8 MiB, freed; 8 threads each take 60 blocks of
 * 1 KiB from park_alloc, free them and wait (each thread's delta stays
 * below zero, inside its room of 4 spans of 8 MiB / 512: 64 KiB);
 * fill_alloc's 4 KiB blocks up to 8 MiB - 256 KiB; churn_alloc takes and
 * frees 100 KiB 20000 times (each take and each free passes the main
 * thread's room: a flush, whose total reads 0.35-0.47 MiB high, above the
 * peak's bound); top_alloc's 1 MiB (a new peak: fill + top + what was live
 * before).
 * "consumer": instead, a thread that only frees hands its delta on all
 * the same (the bound a free checks, stack/counters.h): produce_alloc's 64
 * blocks of 1 MiB (the peak) are freed by a thread that allocates nothing
 * and then waits; then after_alloc's 48 blocks of 1 MiB, freed. Had the
 * consumer's -64 MiB stayed with it, the total would read 112 MiB, past
 * the peak's bound: a sum that finds no new peak.
 * "ranks": instead, 256 stacks that differ in 8 frames (ra or rb at each
 * level, the bits of the site's number k): site k makes k + 1 blocks of
 * k + 1 bytes, all kept (reachable from rank_blocks) until exit. The
 * report ranks them: by calls 256, 255, ..., by bytes at the peak
 * (k + 1)^2. */
#include "rc_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <pthread.h>

void *g_hold;
static void *big[10];
static char *volatile sink;

static double clock_ms(clockid_t c)
{
  struct timespec t;
  clock_gettime(c, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}
static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
static void mark(int n) { fprintf(stderr, "t%d %.3f\n", n, now_ms()); }

/* Its own pointer, not the shared sink: "threads" runs it in two threads
 * at once (with sink, one thread freed the other's block: now and then a
 * double free, a crash, or 999 temporaries). */
RC_NOINLINE void temp_work(int i)
{
  char *volatile p = malloc(100 + (size_t)(i % 50));
  p[0] = 1;
  free(p);
}
RC_NOINLINE void *big_alloc(void)
{
  void *p = malloc(1 << 20);
  memset(p, 1, 1 << 20);
  return p;
}
RC_NOINLINE void *hold_alloc(void)
{
  void *p = malloc(1 << 20);
  memset(p, 2, 1 << 20);
  return p;
}
RC_NOINLINE void *saw_alloc(void) { return malloc(1024); }

static void sawtooth(double ms)
{
  void *b[64];
  /* CPU time: on a loaded machine the run takes longer, not fewer rounds */
  double end = clock_ms(CLOCK_PROCESS_CPUTIME_ID) + ms;
  for (int round = 1; clock_ms(CLOCK_PROCESS_CPUTIME_ID) < end; round = round % 64 + 1) {
    for (int i = 0; i < 64; i++) b[i] = saw_alloc();
    for (int i = 0; i < 64; i++) free(b[i]);
    (void)round;
  }
}

static void snapshot(int argc, char **argv, int n)
{
  if (argc < 3 || strcmp(argv[1], "snap")) return;
  int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot");
  char path[4096];
  snprintf(path, sizeof path, "%s/%d.snap.json", argv[2], n);
  RC_CHECK(snap && snap(path) == 0);
}

static pthread_barrier_t both;
static void *worker(void *arg)
{
  void **mine = arg;
  for (int i = 0; i < 500; i++) temp_work(i);
  for (int i = 0; i < 5; i++) mine[i] = big_alloc();
  pthread_barrier_wait(&both);
  pthread_barrier_wait(&both);   /* both hold 5 MiB until both have looked */
  for (int i = 0; i < 5; i++) {
    free(mine[i]);
    mine[i] = NULL;
  }
  return NULL;
}

static void two_threads(void)
{
  pthread_t t[2];
  pthread_barrier_init(&both, NULL, 2);
  for (int i = 0; i < 2; i++) RC_CHECK(pthread_create(&t[i], NULL, worker, &big[5 * i]) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
}

RC_NOINLINE void *peak_alloc(void)
{
  void *p = malloc(8 << 20);
  memset(p, 3, 8 << 20);
  return p;
}
RC_NOINLINE void *park_alloc(void) { return malloc(1024); }
RC_NOINLINE void *fill_alloc(void) { return malloc(4096); }
RC_NOINLINE void *churn_alloc(void) { return malloc(100 << 10); }
RC_NOINLINE void *top_alloc(void) { return malloc(1 << 20); }

#define PARKERS 8
#define FILL (((8 << 20) - (256 << 10)) / 4096)
static pthread_barrier_t parked, release;
static void *parker(void *arg)
{
  (void)arg;
  void *b[60];
  for (int i = 0; i < 60; i++) b[i] = park_alloc();
  for (int i = 0; i < 60; i++) free(b[i]);
  memset(b, 0, sizeof b);
  pthread_barrier_wait(&parked);
  pthread_barrier_wait(&release);   /* idle, its delta not handed on, until main is done */
  return NULL;
}

static void **fill;
static void park(void)
{
  void *p = peak_alloc();
  free(p);
  p = NULL;
  pthread_t t[PARKERS];
  pthread_barrier_init(&parked, NULL, PARKERS + 1);
  pthread_barrier_init(&release, NULL, PARKERS + 1);
  for (int i = 0; i < PARKERS; i++) RC_CHECK(pthread_create(&t[i], NULL, parker, NULL) == 0);
  pthread_barrier_wait(&parked);
  fill = calloc(FILL, sizeof *fill);   /* 16 KiB, live until exit */
  for (int i = 0; i < FILL; i++) fill[i] = fill_alloc();
  for (int i = 0; i < 20000; i++) {
    sink = churn_alloc();
    sink[0] = 1;
    free(sink);
  }
  sink = NULL;
  g_hold = top_alloc();
  fprintf(stderr, "fill %d\n", FILL);
  pthread_barrier_wait(&release);
  for (int i = 0; i < PARKERS; i++) pthread_join(t[i], NULL);
}

RC_NOINLINE void *produce_alloc(void) { return malloc(1 << 20); }
RC_NOINLINE void *after_alloc(void) { return malloc(1 << 20); }

static void *made[64];
static pthread_barrier_t handed, emptied, finished;
static void *consumer(void *arg)
{
  (void)arg;
  pthread_barrier_wait(&handed);
  for (int i = 0; i < 64; i++) {
    free(made[i]);
    made[i] = NULL;
  }
  pthread_barrier_wait(&emptied);
  pthread_barrier_wait(&finished);   /* alive, allocating nothing, until main is done */
  return NULL;
}

static void consume(void)
{
  pthread_t t;
  pthread_barrier_init(&handed, NULL, 2);
  pthread_barrier_init(&emptied, NULL, 2);
  pthread_barrier_init(&finished, NULL, 2);
  RC_CHECK(pthread_create(&t, NULL, consumer, NULL) == 0);
  for (int i = 0; i < 64; i++) made[i] = produce_alloc();
  pthread_barrier_wait(&handed);
  pthread_barrier_wait(&emptied);
  for (int i = 0; i < 48; i++) made[i] = after_alloc();
  for (int i = 0; i < 48; i++) {
    free(made[i]);
    made[i] = NULL;
  }
  pthread_barrier_wait(&finished);
  pthread_join(t, NULL);
}

void *rank_blocks[256 * 257 / 2];
static int rank_n;
static volatile int rank_tag;
RC_NOINLINE void *rank_alloc(size_t n) { return malloc(n); }
typedef void rank_fn(int d, int k);
static rank_fn ra, rb;
/* Level d of site k: the leaf allocates, the others call ra or rb by bit
 * d - 1 of k. The tags keep gcc from folding the two into one function,
 * the barrier after the call from making it a jump (the frame must stay). */
#define RANK_LEVEL(tag)                                                          \
  rank_tag = tag;                                                                \
  if (d == 0) {                                                                  \
    for (int i = 0; i <= k; i++) rank_blocks[rank_n++] = rank_alloc((size_t)k + 1); \
  } else {                                                                       \
    (((k >> (d - 1)) & 1) ? ra : rb)(d - 1, k);                                  \
  }                                                                              \
  __asm__ __volatile__("" ::: "memory");
static RC_NOINLINE void ra(int d, int k) { RANK_LEVEL(1) }
static RC_NOINLINE void rb(int d, int k) { RANK_LEVEL(2) }
static void ranks(void)
{
  for (int k = 0; k < 256; k++) (((k >> 7) & 1) ? ra : rb)(7, k);
}

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "ranks")) {
    ranks();
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "consumer")) {
    consume();
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "parked")) {
    park();
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "threads")) {
    two_threads();
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  if (argc > 2 && !strcmp(argv[1], "long")) {
    sawtooth(atof(argv[2]));
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  mark(1);
  for (int i = 0; i < 1000; i++) temp_work(i);
  mark(2);
  snapshot(argc, argv, 1);
  /* 2 ms after each big block and each free: every one of them then lands
   * on a timeline point (1 ms apart at first), however fast the allocator
   * serves 1 MiB (reused memory takes no page faults). */
  for (int i = 0; i < 10; i++) {
    big[i] = big_alloc();
    usleep(2000);
  }
  mark(3);
  for (int i = 9; i >= 0; i--) {
    free(big[i]);
    big[i] = NULL;   /* no stale copy: the leaked block may reuse this memory */
    usleep(2000);
  }
  mark(4);
  g_hold = hold_alloc();
  mark(5);
  snapshot(argc, argv, 2);
  rc_leak_known();
  rc_scrub();
  return 0;
}
