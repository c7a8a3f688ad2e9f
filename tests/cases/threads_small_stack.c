/* Threads on the smallest stack glibc allows (PTHREAD_STACK_MIN, 16 KiB):
 * pthread_create refuses a stack that cannot hold the static TLS of every
 * loaded module, so the runtime's own thread-local state must stay small
 * (stack/unwind.c keeps its per-thread stacks in mmap'd memory, not TLS).
 * 40 threads one after another, each allocating from two call sites in
 * turn (the unwinder's kept stacks; an exited thread's go to the next) and
 * keeping one block in g_keep. Prints "created 40" and the known leak.
 * Expect direct 1 / 77, reachable >= 40. */
#include "rc_test.h"
#include <limits.h>
#include <pthread.h>

#define NT 40
void *g_keep[NT];

RC_NOINLINE void *site_a(size_t n) { return malloc(n); }
RC_NOINLINE void *site_b(size_t n) { return malloc(n); }

static void *worker(void *arg)
{
  long k = (long)arg;
  for (int i = 0; i < 200; i++) {
    void *a = site_a(24), *b = site_b(40);
    free(a);
    free(b);
  }
  g_keep[k] = site_a(16 + (size_t)k);
  return NULL;
}

int main(void)
{
  pthread_attr_t at;
  pthread_attr_init(&at);
  if (pthread_attr_setstacksize(&at, PTHREAD_STACK_MIN)) return 2;
  int created = 0;
  for (long k = 0; k < NT; k++) {
    pthread_t t;
    int rc = pthread_create(&t, &at, worker, (void *)k);
    if (rc) {
      printf("pthread_create with a %d-byte stack: error %d\n", (int)PTHREAD_STACK_MIN, rc);
      break;
    }
    pthread_join(t, NULL);
    created++;
  }
  printf("created %d\n", created);
  rc_leak_known();
  rc_scrub();
  return 0;
}
