/* 64 threads allocate at once (released together by a barrier). Each keeps
 * 100 blocks in a global table, frees 100 others, and leaks exactly one block
 * of 64 bytes. Half of them then exit; the other half stay blocked holding one
 * more block (16) in a stack local.
 * Expect direct 64 blocks / 4096 bytes, indirect 0, reachable >= 6432. */
#include "rc_test.h"
#include <pthread.h>

#define NT 64
#define KEEP 100
void *g_kept[NT][KEEP];
static pthread_barrier_t g_bar;
static int g_ready;
void *g_handoff[NT];

RC_NOINLINE void leak64(void)
{
  void *volatile p = malloc(64);
  rc_barrier(p);
  p = NULL;
}

RC_NOINLINE void work(long id)
{
  void *tmp[KEEP];
  for (int i = 0; i < KEEP; i++) {
    g_kept[id][i] = malloc((size_t)(i % 13) * 8 + 1);
    tmp[i] = calloc(1, (size_t)i + 1);
  }
  for (int i = 0; i < KEEP; i++) free(tmp[i]);
  leak64();
  if (id % 2) g_handoff[id] = malloc(16);
}

void *worker(void *arg)
{
  long id = (long)arg;
  pthread_barrier_wait(&g_bar);
  work(id);
  void *volatile mine = g_handoff[id];
  g_handoff[id] = NULL;
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  if (id % 2)
    for (;;) pause();
  return (void *)mine;
}

int main(void)
{
  pthread_barrier_init(&g_bar, NULL, NT);
  pthread_t t[NT];
  for (long i = 0; i < NT; i++) RC_CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < NT) usleep(1000);
  for (long i = 0; i < NT; i += 2) RC_CHECK(pthread_join(t[i], NULL) == 0);
  rc_scrub();
  return 0;
}
