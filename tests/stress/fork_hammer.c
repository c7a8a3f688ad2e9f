/* fork() from a multi-threaded program while 8 other threads hammer the
 * allocator (and so hold its locks at any moment). The child must not
 * deadlock: it allocates, frees, runs a scoped check and exits through the
 * at-exit check. Blocks that a hammering thread had only in its registers at
 * fork time are leaks in the child (that thread does not exist there), so the
 * child asserts exact counts on a scope: exactly 1 block of 77.
 * Expect: parent direct 1 / 77 exactly, every child's scope 1 / 77 and its
 * report direct >= 1, no child killed by the watchdog. */
#include "stress.h"
#include <sys/wait.h>

#define NHAMMER 8
#define NSLOTS 64
static void *volatile g_slots[NHAMMER][NSLOTS];
static volatile int g_stop;

static void *hammer(void *arg)
{
  long id = (long)arg;
  uint64_t s = 88172645463325252ull ^ (uint64_t)id;
  while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
    uint64_t r = rcs_rand(&s);
    int i = (int)(r % NSLOTS);
    void *old = g_slots[id][i];
    g_slots[id][i] = NULL;
    free(old);
    g_slots[id][i] = (r & 0x10000) ? malloc((r >> 20) % 3000) : realloc(NULL, (r >> 24) % 100);
  }
  return NULL;
}

/* In a helper, so that no live frame keeps pointers to the freed blocks
 * (one of which the known leak may reuse). */
RC_NOINLINE static void churn(void)
{
  void *p[100];
  for (int i = 0; i < 100; i++) p[i] = malloc((size_t)i * 10);
  for (int i = 0; i < 100; i++) free(p[i]);
}

static void child(void)
{
  alarm(30);   /* the watchdog is not inherited across fork */
  rc_announce("child");
  uint32_t tok = reachcheck_scope_begin();
  churn();
  rc_scrub();
  rc_leak_known();
  rc_scrub();
  struct reachcheck_result r;
  memset(&r, 0, sizeof r);
  long n = reachcheck_scope_end(tok, &r, 0);
  if (n != 1) fprintf(stderr, "child: scope_end returned %ld\n", n);
  RCS_EXPECT(r, 1, 77, 0);
  RC_CHECK(n == 1);
  exit(0);
}

int main(int argc, char **argv)
{
  int forks = argc > 1 ? atoi(argv[1]) : 30;
  rcs_watchdog(200);
  rcs_require_runtime();
  rc_announce("parent");
  pthread_t t[NHAMMER];
  for (long i = 0; i < NHAMMER; i++) RC_CHECK(pthread_create(&t[i], NULL, hammer, (void *)i) == 0);
  usleep(20000);
  for (int k = 0; k < forks; k++) {
    fflush(stdout);
    pid_t pid = fork();
    RC_CHECK(pid >= 0);
    if (pid == 0) child();
    int st;
    RC_CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 23) {
      fprintf(stderr, "fork %d: child status 0x%x (%s)\n", k, st,
              WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exit");
      rc_fail("child did not exit with the leak status");
    }
    usleep((useconds_t)(k % 7) * 500);
  }
  __atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
  for (int i = 0; i < NHAMMER; i++) RC_CHECK(pthread_join(t[i], NULL) == 0);
  for (int i = 0; i < NHAMMER; i++)
    for (int k = 0; k < NSLOTS; k++) {
      free(g_slots[i][k]);
      g_slots[i][k] = NULL;   /* no dangling pointer to a block the known leak may reuse */
    }
  printf("%d forks ok\n", forks);
  rc_leak_known();
  rc_scrub();
  return 0;
}
