/* Blocks up to 2 KiB live in slabs (core/heap/). One freed by another
 * thread waits in that thread's cache, goes on to its class's list when the
 * cache is full or the thread exits, and is served again from there, to any
 * thread. Blocks that took that way must be tracked like any other:
 *   - a producer thread allocates PER blocks of each of the 127 small sizes
 *     8, 24, ..., 2024 bytes; a consumer thread frees them all (more than a
 *     cache holds per class) and exits;
 *   - main allocates the same blocks again (from the class lists), checks
 *     that no two overlap, shrinks and regrows one per size in place, and
 *     keeps them all in a global: reachable, not leaks;
 *   - a helper leaks 4 blocks of 40 bytes, one of which points to a fifth.
 * Expect direct 4 / 160, indirect 1 / 40, at least 127 * PER reachable, also
 * with thread_cache=0 (every free goes to the class list). */
#include <pthread.h>
#include "rc_test.h"

#define NSIZES 127
#define PER 100
#define N (NSIZES * PER)

static size_t size_of(int i) { return 8 + (size_t)(i % NSIZES) * 16; }

static unsigned char *g_first[N];   /* emptied by the consumer */
unsigned char *g_again[N];          /* the blocks main keeps */

static void *producer(void *arg)
{
  (void)arg;
  for (int i = 0; i < N; i++) {
    g_first[i] = malloc(size_of(i));
    RC_CHECK(g_first[i] != NULL);
    memset(g_first[i], 0xAB, size_of(i));
  }
  return NULL;
}

static void *consumer(void *arg)
{
  (void)arg;
  for (int i = N; i-- > 0;) {
    free(g_first[i]);
    g_first[i] = NULL;
  }
  return NULL;
}

struct pair { struct pair *next; char pad[32]; };

RC_NOINLINE void leak_reused(void)
{
  struct pair *volatile a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = malloc(sizeof(struct pair));
    memset(a[i], 0, sizeof(struct pair));
  }
  a[0]->next = malloc(sizeof(struct pair));   /* indirect */
  a[0]->next->next = NULL;
  for (int i = 0; i < 4; i++) a[i] = NULL;
}

int main(void)
{
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, producer, NULL) == 0);
  RC_CHECK(pthread_join(t, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, consumer, NULL) == 0);
  RC_CHECK(pthread_join(t, NULL) == 0);

  for (int i = 0; i < N; i++) {
    g_again[i] = malloc(size_of(i));
    RC_CHECK(g_again[i] != NULL && ((uintptr_t)g_again[i] & 15) == 0);
    memset(g_again[i], i & 0xff, size_of(i));
  }
  for (int i = 0; i < N; i++)   /* no block was handed out twice */
    for (size_t k = 0; k < size_of(i); k++) RC_CHECK(g_again[i][k] == (unsigned char)(i & 0xff));
  for (int i = 0; i < NSIZES; i++) {
    size_t n = size_of(i);
    unsigned char *p = realloc(g_again[i], n - n / 4);
    RC_CHECK(p != NULL && p[0] == (unsigned char)i);
    p = realloc(p, n);
    RC_CHECK(p != NULL && p[0] == (unsigned char)i);
    g_again[i] = p;
  }
  leak_reused();
  printf("ok\n");
  fflush(stdout);
  rc_scrub();
  return 0;
}
