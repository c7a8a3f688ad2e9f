/* Two heap snapshots (reachcheck_snapshot) of a growing list, taken while
 * another thread keeps allocating: between them the list grows by 400
 * items of 48 bytes, all from one allocation site, all retained by
 * g_history. `reachcheck diff` must put that site and that root first.
 * usage: retain_snap OLD.json NEW.json. Leaks exactly the known block. */
#include "rc_test.h"
#include <dlfcn.h>
#include <pthread.h>

struct item { struct item *next; char payload[40]; };   /* 48 bytes */

struct item *g_history;   /* grows: 100, then 500 items */
void *g_config;           /* 1000 bytes, unchanged */
static volatile int g_stop;

RC_NOINLINE void append(int n)
{
  for (int i = 0; i < n; i++) {
    struct item *it = calloc(1, sizeof *it);
    it->next = g_history;
    g_history = it;
  }
}

static void *churn(void *arg)
{
  (void)arg;
  while (!g_stop) {
    void *volatile p = malloc(100);
    free(p);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  RC_CHECK(argc == 3);
  int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot");
  RC_CHECK(snap != NULL);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, churn, NULL) == 0);
  g_config = malloc(1000);
  for (int round = 0; round < 2; round++) {
    append(round ? 400 : 100);
    rc_scrub();
    RC_CHECK(snap(argv[1 + round]) == 0);
  }
  g_stop = 1;
  pthread_join(t, NULL);
  rc_leak_known();
  rc_scrub();
  return 0;
}
