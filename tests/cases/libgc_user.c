/* A program that links Boehm libgc itself and drives it: GC_INIT,
 * GC_MALLOC, a GC-registered thread, GC_enable() and GC_gcollect(). Our
 * malloc'd blocks must survive its collections (a reachable block keeps its
 * contents, the leaked block is never reused) and counts stay exact.
 * Expect direct 1 / 77, indirect 0. */
#define GC_THREADS 1
#include "rc_test.h"
#include <gc.h>
#include <pthread.h>

#define MASK ((uintptr_t)0xa5a5a5a5a5a5a5a5ull)
unsigned char *g_keep;
uintptr_t g_leaked_masked;

RC_NOINLINE void leak_recorded(void)
{
  void *volatile p = malloc(RC_KNOWN_SIZE);
  g_leaked_masked = (uintptr_t)p ^ MASK;
  p = NULL;
}

void *gc_worker(void *arg)
{
  for (int i = 0; i < 1000; i++) {
    void **o = GC_MALLOC(64);
    o[0] = GC_MALLOC(32);
  }
  GC_gcollect();
  return arg;
}

int main(void)
{
  GC_INIT();
  g_keep = malloc(1000);
  for (int i = 0; i < 1000; i++) g_keep[i] = (unsigned char)(i * 31);
  leak_recorded();
  for (int i = 0; i < 10000; i++) {
    void **o = GC_MALLOC(48);
    o[1] = GC_MALLOC_ATOMIC(100);
  }
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, gc_worker, NULL) == 0);   /* GC_pthread_create */
  RC_CHECK(pthread_join(t, NULL) == 0);
  GC_disable();
  GC_enable();
  GC_gcollect();
  GC_gcollect();
  for (int i = 0; i < 1000; i++) RC_CHECK(g_keep[i] == (unsigned char)(i * 31));
  void *fresh[4000];
  for (int i = 0; i < 4000; i++) {
    fresh[i] = malloc(RC_KNOWN_SIZE);
    RC_CHECK((uintptr_t)fresh[i] != (g_leaked_masked ^ MASK));   /* not freed behind our back */
  }
  for (int i = 0; i < 4000; i++) free(fresh[i]);
  RC_CHECK(GC_get_heap_size() > 0);
  rc_scrub();
  return 0;
}
