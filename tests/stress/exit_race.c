/* 64 threads allocate, reallocate and free as fast as they can while a 65th
 * thread calls exit(): the at-exit check stops them wherever they are (in
 * malloc, in free, holding Boehm's lock, spinning on ours). Every block a
 * worker owns is in its global slot array or in its registers/stack, so the
 * only leak is the known one. Repeated `rounds` times in forked children so
 * that exit lands at many different points. Expect, per process: direct
 * 1 / 77, indirect 0. */
#include "stress.h"
#include <sys/wait.h>

#define NTHREADS 64
#define NSLOTS 32
static void *volatile g_slots[NTHREADS][NSLOTS];
static volatile int g_started;

static void *worker(void *arg)
{
  long id = (long)arg;
  uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
  __atomic_add_fetch(&g_started, 1, __ATOMIC_SEQ_CST);
  for (;;) {
    uint64_t r = rcs_rand(&s);
    int i = (int)(r % NSLOTS);
    size_t n = (size_t)(r >> 8) % ((r & 0x100) ? 4096 : 256);
    void *old = g_slots[id][i];
    switch ((r >> 20) & 3) {
    case 0:
    case 1:
      g_slots[id][i] = NULL;
      free(old);
      g_slots[id][i] = malloc(n);
      break;
    case 2:
      if (old) {
        void *q = realloc(old, n + 1);
        if (q) g_slots[id][i] = q;
      }
      break;
    default:
      g_slots[id][i] = NULL;
      free(old);
      g_slots[id][i] = calloc(1, n);
    }
  }
  return NULL;
}

static void *exiter(void *arg)
{
  struct timespec ts = {0, (long)arg};
  while (__atomic_load_n(&g_started, __ATOMIC_SEQ_CST) < NTHREADS) usleep(100);
  nanosleep(&ts, NULL);
  exit(0);
}

static void one_process(long delay_ns)
{
  rc_leak_known();
  rc_scrub();
  pthread_t t;
  for (long i = 0; i < NTHREADS; i++) RC_CHECK(pthread_create(&t, NULL, worker, (void *)i) == 0);
  RC_CHECK(pthread_create(&t, NULL, exiter, (void *)delay_ns) == 0);
  for (;;) pause();
}

int main(int argc, char **argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 1;
  rcs_watchdog(240);
  rcs_require_runtime();
  if (rounds == 1) one_process(200 * 1000 * 1000L);
  rc_announce("parent");
  for (int k = 0; k < rounds; k++) {
    pid_t pid = fork();
    RC_CHECK(pid >= 0);
    if (pid == 0) {
      alarm(60);
      rc_announce("child");
      one_process((long)(k * 7919 % 50) * 1000 * 1000L + 1000L * k);
    }
    int st;
    RC_CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 23) {
      fprintf(stderr, "round %d: child status 0x%x\n", k, st);
      rc_fail("child did not exit with the leak status");
    }
  }
  rc_leak_known();
  rc_scrub();
  return 0;
}
