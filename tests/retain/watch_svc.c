/* A live service under --watch: every tick (one per --watch sample: the
 * program waits on reachcheck_watch_count) it appends one 240-byte audit
 * record to a global list that is never trimmed (the growth), refreshes a
 * stable cache in place (frees and allocates the same sizes), and once, two
 * ticks before the end, hangs a 64 KiB table built on first use off
 * g_config (which exists from the start: its root grows in one interval of
 * the last window). Only g_audit_history may be
 * reported, at exactly +240 bytes and +1 block per snapshot, added by
 * append_audit_record. usage: watch_svc TICKS [fork]; with "fork" the ticks
 * run in a forked child (its own --watch thread, its own report by %p).
 * Leaks exactly the known block. */
#include "rc_test.h"
#include <dlfcn.h>
#include <sys/wait.h>
#include <time.h>

struct audit { struct audit *next; char text[232]; };   /* 240 bytes */
struct entry { char key[32]; char value[68]; };        /* 100 bytes */
struct config { void *table; char name[56]; };         /* 64 bytes */

struct audit *g_audit_history;     /* grows by one record a tick */
struct entry *g_cache[8];          /* refreshed in place, never grows */
struct config *g_config;           /* its table is made once, late */
static unsigned g_ticks;
static unsigned (*watch_count)(void);

RC_NOINLINE void append_audit_record(unsigned tick)
{
  struct audit *a = calloc(1, sizeof *a);
  snprintf(a->text, sizeof a->text, "request %u served", tick);
  a->next = g_audit_history;
  g_audit_history = a;
}

RC_NOINLINE void refresh_cache(unsigned tick)
{
  unsigned i = tick % 8;
  free(g_cache[i]);
  g_cache[i] = calloc(1, sizeof *g_cache[i]);
  snprintf(g_cache[i]->key, sizeof g_cache[i]->key, "k%u", tick);
}

RC_NOINLINE void serve(unsigned tick)
{
  if (tick == g_ticks - 2) g_config->table = calloc(1, 65536);
  append_audit_record(tick);
  refresh_cache(tick);
}

/* Sleep until --watch has taken one more sample than `seen`. */
RC_NOINLINE unsigned wait_sample(unsigned seen)
{
  struct timespec ms = {0, 1000000};
  unsigned n;
  while ((n = watch_count()) == seen) nanosleep(&ms, NULL);
  return n;
}

RC_NOINLINE void run(unsigned ticks)
{
  g_config = calloc(1, sizeof *g_config);
  for (unsigned i = 0; i < 8; i++) refresh_cache(i);
  unsigned seen = wait_sample(0);
  for (unsigned tick = 1; tick <= ticks; tick++) {
    serve(tick);
    rc_scrub();
    seen = wait_sample(seen);
  }
}

int main(int argc, char **argv)
{
  RC_CHECK(argc >= 2);
  watch_count = (unsigned (*)(void))dlsym(RTLD_DEFAULT, "reachcheck_watch_count");
  RC_CHECK(watch_count != NULL);
  unsigned ticks = (unsigned)atoi(argv[1]);
  RC_CHECK(ticks >= 3);
  g_ticks = ticks;
  if (argc > 2 && !strcmp(argv[2], "fork")) {
    printf("rc-pid: parent %d\n", (int)getpid());
    fflush(stdout);
    pid_t c = fork();
    RC_CHECK(c >= 0);
    if (c == 0) {
      printf("rc-pid: child %d\n", (int)getpid());
      fflush(stdout);
      run(ticks);
      rc_leak_known();
      rc_scrub();
      exit(0);
    }
    int st;
    RC_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));   /* 23: its own known leak */
    rc_leak_known();
    rc_scrub();
    return 0;
  }
  run(ticks);
  rc_leak_known();
  rc_scrub();
  return 0;
}
