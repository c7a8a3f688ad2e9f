/* fork while 4 threads hammer malloc/free: locks they hold at fork time must
 * not deadlock the children. 10 children each leak one block of 777 bytes and
 * exit. A worker's in-flight block may be orphaned in a child (its thread is
 * gone there), so children are checked for their own 777-byte leak group and
 * a lower bound. Parent: direct 1 / 77 exactly. */
#include "rc_test.h"
#include <pthread.h>
#include <sys/wait.h>

#define NWORK 4
static int g_stop;
void *volatile g_slot[NWORK];

void *worker(void *arg)
{
  long id = (long)arg;
  size_t n = 1;
  while (!__atomic_load_n(&g_stop, __ATOMIC_SEQ_CST)) {
    g_slot[id] = malloc(n);
    free(g_slot[id]);
    g_slot[id] = NULL;
    n = n * 7 % 5000 + 1;
  }
  return NULL;
}

RC_NOINLINE void leak777(void)
{
  void *volatile p = malloc(777);
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  rc_announce("parent");
  pthread_t t[NWORK];
  for (long i = 0; i < NWORK; i++) RC_CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
  usleep(20000);
  pid_t kids[10];
  for (int k = 0; k < 10; k++) {
    pid_t pid = fork();
    RC_CHECK(pid >= 0);
    if (pid == 0) {
      rc_announce("child");
      for (int i = 0; i < 1000; i++) free(malloc((size_t)i));
      leak777();
      rc_scrub();
      exit(0);
    }
    kids[k] = pid;
    usleep(5000);
  }
  for (int k = 0; k < 10; k++) {
    int st;
    RC_CHECK(waitpid(kids[k], &st, 0) == kids[k]);
    RC_CHECK(WIFEXITED(st));
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < NWORK; i++) pthread_join(t[i], NULL);
  rc_leak_known();
  rc_scrub();
  return 0;
}
