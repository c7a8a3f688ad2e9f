/* A master that forks one worker, as daemons do. The worker allocates its
 * own known blocks (3 x 4242 bytes, held by g_worker), then answers
 * commands on stdin, one per line:
 *   snap PATH   reachcheck_snapshot(PATH) -> "snap 0" or "snap -1 ERRNO"
 *   spawn DIR   forks a child that waits for its endpoint DIR/ep-PID.sock
 *               and leaves with _exit(0) -> "spawned PID 1" (1: the socket
 *               existed before the _exit)
 *   quit        leaks one 77-byte block (the worker's exit report must show
 *               it: the check ran in the worker) and exits 0
 * Before the first command it prints "worker PID". The master holds
 * 2 x 1111 bytes in g_master, waits for the worker and exits 0. */
#include "rc_test.h"
#include <dlfcn.h>
#include <errno.h>
#include <sys/wait.h>

void *g_master[2];
void *g_worker[3];

static __attribute__((noinline)) void worker_alloc(void)
{
  for (int i = 0; i < 3; i++) g_worker[i] = malloc(4242);
}

static __attribute__((noinline)) void master_alloc(void)
{
  for (int i = 0; i < 2; i++) g_master[i] = malloc(1111);
}


static int worker(void)
{
  worker_alloc();
  printf("worker %d\n", (int)getpid());
  fflush(stdout);
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (!strncmp(line, "snap ", 5)) {
      int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot");
      int r = snap ? snap(line + 5) : -1;
      if (r) printf("snap -1 %d\n", errno);
      else printf("snap 0\n");
      fflush(stdout);
    } else if (!strncmp(line, "spawn ", 6)) {
      pid_t c = fork();
      if (c == 0) {
        char path[4200];
        snprintf(path, sizeof path, "%s/ep-%d.sock", line + 6, (int)getpid());
        int i = 0;
        for (; i < 2000 && access(path, F_OK); i++) usleep(10000);
        _exit(i < 2000 ? 0 : 1);
      }
      int st = 0;
      while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
      printf("spawned %d %d\n", (int)c, WIFEXITED(st) && WEXITSTATUS(st) == 0);
      fflush(stdout);
    } else if (!strcmp(line, "quit")) {
      rc_leak_known();
      rc_scrub();
      return 0;
    }
  }
  return 1;
}

int main(void)
{
  master_alloc();
  pid_t p = fork();
  if (p < 0) return 2;
  if (p == 0) exit(worker());
  int st = 0;
  while (waitpid(p, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 3;
}
