/* The profiling walkthrough of README ("Profiling a running service"): a
 * service whose memory creeps up. A background thread reloads the config
 * every interval and, meaning to free old configs "once no request uses
 * them", parks every replaced one in `retired`; one reload in 16 hits a
 * malformed line and drops the half-built config (a leak). The main thread
 * serves simulated requests (allocate, use, free). Run it under
 * `reachcheck --http=127.0.0.1:6060` and profile it like a Go service.
 *
 *   pprof_service [--reloads=N] [--interval_ms=M]   (N = 0: until SIGTERM/SIGINT) */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct config {
  int version;
  int nvalues;
  char **values;
  char text[1024];               /* the raw config file */
};

static struct config *volatile current;
/* The reloader's old configs, to be freed "once no request uses them". */
struct config *retired[100000];   /* extern: the compiler must keep every store */
int nretired;
static volatile sig_atomic_t stopping;
static long reloads = 0, interval_ms = 20;

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

__attribute__((noinline)) static char *copy_value(const char *s, size_t n)
{
  char *v = malloc(n + 1);
  memcpy(v, s, n);
  v[n] = 0;
  return v;
}

/* Parse version v of the config; NULL on a malformed line (and the
 * half-built config is dropped on the floor: the leak). */
__attribute__((noinline)) static struct config *load_config(int v)
{
  struct config *c = calloc(1, sizeof *c);
  c->version = v;
  snprintf(c->text, sizeof c->text, "version=%d\nworkers=8\ncache=%dMiB\nlog=info\n", v, 64 + v % 7);
  c->values = malloc(8 * sizeof *c->values);
  for (const char *p = c->text; *p && c->nvalues < 8;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (v % 16 == 15 && c->nvalues == 2) return NULL;   /* "malformed line" */
    c->values[c->nvalues++] = copy_value(p, n);
    p += n + (e != NULL);
  }
  return c;
}

__attribute__((noinline)) static void retire(struct config *old)
{
  if (old && nretired < 100000) retired[nretired++] = old;   /* "freed later": never */
}

__attribute__((noinline)) static void reload_loop(void)
{
  for (int v = 1; !stopping && (!reloads || v <= reloads); v++) {
    struct config *c = load_config(v);
    if (c) {
      struct config *old = current;
      current = c;
      retire(old);
    }
    sleep_ms(interval_ms);
  }
  while (!stopping) sleep_ms(50);   /* keeps its list until shutdown */
}

static void *reloader(void *arg)
{
  (void)arg;
  reload_loop();
  return NULL;
}

__attribute__((noinline)) static size_t handle_request(int i)
{
  char *buf = malloc(4096);
  size_t n = (size_t)snprintf(buf, 4096, "request %d served by config v%d\n", i, current ? current->version : 0);
  free(buf);
  return n;
}

static void on_signal(int sig) { (void)sig; stopping = 1; }

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (!strncmp(argv[i], "--reloads=", 10)) reloads = atol(argv[i] + 10);
    else if (!strncmp(argv[i], "--interval_ms=", 14)) interval_ms = atol(argv[i] + 14);
    else {
      fprintf(stderr, "usage: %s [--reloads=N] [--interval_ms=M]\n", argv[0]);
      return 2;
    }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  pthread_t t;
  pthread_create(&t, NULL, reloader, NULL);
  pthread_setname_np(t, "reloader");
  size_t served = 0;
  for (int i = 0; !stopping; i++) {
    served += handle_request(i);
    sleep_ms(5);
  }
  pthread_join(t, NULL);
  printf("served %zu bytes of answers\n", served);
  return 0;
}
