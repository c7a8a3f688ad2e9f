/* Checks requested from several threads at once: 6 threads each run 15 full
 * checks (and 5 scoped ones) concurrently while 3 threads hammer the
 * allocator. Two checkers must never stop each other into a deadlock, and
 * each check must see the same heap. Expect: every check direct 1 / 77,
 * every scope 0, the at-exit report direct 1 / 77, indirect 0. */
#include "stress.h"

#define NCHECK 6
#define NHAMMER 3
static void *volatile g_slots[NHAMMER][128];
static volatile int g_stop;

static void *hammer(void *arg)
{
  long id = (long)arg;
  uint64_t s = 7 + (uint64_t)id;
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    uint64_t r = rcs_rand(&s);
    int i = (int)(r % 128);
    void *old = g_slots[id][i];
    g_slots[id][i] = NULL;
    free(old);
    g_slots[id][i] = malloc((r >> 16) % 700);
  }
  return NULL;
}

static void *checker(void *arg)
{
  int rounds = (int)(long)arg;
  struct reachcheck_result r;
  for (int i = 0; i < rounds; i++) {
    memset(&r, 0, sizeof r);
    RC_CHECK(reachcheck_check(&r, 0) == 1);
    RCS_EXPECT(r, 1, 77, 0);
    if (i % 3 == 0) {
      uint32_t tok = reachcheck_scope_begin();
      void *p = malloc(100);
      free(p);
      memset(&r, 0, sizeof r);
      RC_CHECK(reachcheck_scope_end(tok, &r, 0) == 0);
      RCS_EXPECT(r, 0, 0, 0);
    }
  }
  return NULL;
}

int main(int argc, char **argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 15;
  rcs_watchdog(200);
  rcs_require_runtime();
  rc_leak_known();
  rc_scrub();
  pthread_t h[NHAMMER], c[NCHECK];
  for (long i = 0; i < NHAMMER; i++) RC_CHECK(pthread_create(&h[i], NULL, hammer, (void *)i) == 0);
  for (long i = 0; i < NCHECK; i++) RC_CHECK(pthread_create(&c[i], NULL, checker, (void *)(long)rounds) == 0);
  for (int i = 0; i < NCHECK; i++) RC_CHECK(pthread_join(c[i], NULL) == 0);
  __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < NHAMMER; i++) RC_CHECK(pthread_join(h[i], NULL) == 0);
  for (int i = 0; i < NHAMMER; i++)
    for (int k = 0; k < 128; k++) {
      free(g_slots[i][k]);
      g_slots[i][k] = NULL;
    }
  printf("%d concurrent checks ok\n", NCHECK * rounds);
  rc_scrub();
  return 0;
}
