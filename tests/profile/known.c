/* A program whose allocations are known exactly, for the pprof tests:
 *   keep_blocks: 1000 blocks of 48 bytes, kept in the global g_keep (reachable);
 *   churn:       500 blocks of 100 bytes, all freed again (alloc only);
 *   leak_blocks: 10 blocks of 64 bytes, pointers dropped (leaked);
 *   grow:        argv[1] (default 0) blocks of 32 bytes per call, kept in
 *                g_history, called once per line read from stdin when
 *                "serve" is given (a service for the endpoint tests).
 * With "serve" it prints "ready" and answers stdin lines: "grow N" calls
 * grow N times, "fork" forks a child that grows once and exits,
 * "closefds" closes descriptors 3-1023 (as a daemon does), "quit" exits. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void **g_keep;
struct node { struct node *next; char pad[24]; };
struct node *g_history;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop;

__attribute__((noinline)) void keep_blocks(void)
{
  g_keep = calloc(1000, sizeof *g_keep);   /* 8000 bytes, one block */
  for (int i = 0; i < 1000; i++) g_keep[i] = malloc(48);
}

__attribute__((noinline)) void churn(void)
{
  for (int i = 0; i < 500; i++) {
    char *p = malloc(100);
    p[0] = (char)i;
    free(p);
  }
}

__attribute__((noinline)) void leak_blocks(void)
{
  for (int i = 0; i < 10; i++) {
    void *volatile p = malloc(64);
    p = NULL;
  }
}

__attribute__((noinline)) void grow(int n)
{
  for (int i = 0; i < n; i++) {
    struct node *x = malloc(sizeof *x);
    x->next = g_history;
    g_history = x;
  }
}

static void *waiter(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!stop) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return NULL;
}

__attribute__((noinline)) static void wipe_stack(void)
{
  volatile char buf[8192];
  memset((char *)buf, 0, sizeof buf);
}

int main(int argc, char **argv)
{
  keep_blocks();
  churn();
  leak_blocks();
  wipe_stack();
  int n = argc > 1 ? atoi(argv[1]) : 0;
  grow(n);
  if (argc > 2 && !strcmp(argv[2], "serve")) {
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    pthread_setname_np(t, "known-waiter");
    printf("ready\n");
    fflush(stdout);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
      if (!strncmp(line, "grow ", 5)) grow(atoi(line + 5));
      else if (!strncmp(line, "fork", 4)) {
        pid_t pid = fork();
        if (pid == 0) { grow(1); _exit(0); }
        int st;
        waitpid(pid, &st, 0);
      } else if (!strncmp(line, "closefds", 8)) {   /* as a daemon does */
        for (int fd = 3; fd < 1024; fd++) close(fd);
      } else if (!strncmp(line, "quit", 4)) break;
      printf("ok\n");
      fflush(stdout);
    }
    pthread_mutex_lock(&mu);
    stop = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
  }
  return 0;
}
