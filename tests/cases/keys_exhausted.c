/* The program uses up every pthread key (PTHREAD_KEYS_MAX), then allocates,
 * starts a thread that allocates, leaks one block (66) and exits, and leaks
 * the known block. Nothing may break for lack of a key.
 * Expect direct 2 blocks / 143 bytes, indirect 0. */
#include "rc_test.h"
#include <errno.h>
#include <pthread.h>

RC_NOINLINE void leak66(void)
{
  void *volatile p = malloc(66);
  rc_barrier(p);
  p = NULL;
}

void *worker(void *arg)
{
  for (int i = 0; i < 1000; i++) free(malloc((size_t)i));
  leak66();
  rc_scrub();
  return arg;
}

void *frees(void *arg)
{
  free(arg);
  return NULL;
}

int main(void)
{
  pthread_key_t k;
  int n = 0, rc;
  while ((rc = pthread_key_create(&k, NULL)) == 0) n++;
  RC_CHECK(rc == EAGAIN);
  RC_CHECK(n > 900);
  for (int i = 0; i < 1000; i++) free(malloc((size_t)i));
  for (int i = 0; i < 4; i++) {
    pthread_t t;
    RC_CHECK(pthread_create(&t, NULL, i == 0 ? worker : frees, i == 0 ? NULL : malloc(8)) == 0);
    RC_CHECK(pthread_join(t, NULL) == 0);
  }
  rc_leak_known();
  rc_scrub();
  return 0;
}
