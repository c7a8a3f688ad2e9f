/* Out of memory through RLIMIT_AS (every mmap and brk beyond the limit
 * fails): malloc, calloc, realloc, memalign and posix_memalign must return
 * NULL / ENOMEM exactly as from glibc, the heap must work again once memory
 * is freed, and the at-exit report must still be written.
 *   oom free   exhaust, free everything, exit (report: direct 1 / 77)
 *   oom hold   exhaust and exit while still out of memory: the check runs
 *              with no address space left (report or one clear message);
 *              more than 200 blocks (1 MiB each) are held then
 * stdout: "exhausted after N MiB" is not printed (N varies); "ok". */
#include "stress.h"
#include <sys/resource.h>

struct chunk { struct chunk *next; };
static struct chunk *g_hold;

static size_t vm_size(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  RC_CHECK(f != NULL);
  char line[256];
  size_t kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %zu kB", &kb) == 1) break;
  fclose(f);
  return kb * 1024;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "free";
  rcs_watchdog(100);
  rcs_require_runtime();
  rc_leak_known();
  struct rlimit rl = {vm_size() + (256u << 20), RLIM_INFINITY};
  RC_CHECK(setrlimit(RLIMIT_AS, &rl) == 0);

  /* one impossible request of each kind */
  errno = 0;
  RC_CHECK(malloc((size_t)1 << 40) == NULL && errno == ENOMEM);
  errno = 0;
  RC_CHECK(calloc((size_t)1 << 20, (size_t)1 << 20) == NULL && errno == ENOMEM);
  void *small = malloc(16);
  RC_CHECK(small != NULL);
  errno = 0;
  RC_CHECK(realloc(small, (size_t)1 << 40) == NULL && errno == ENOMEM);   /* small stays valid */
  memset(small, 1, 16);
  free(small);
  errno = 0;
  RC_CHECK(memalign(4096, (size_t)1 << 40) == NULL && errno == ENOMEM);
  void *pm = NULL;
  RC_CHECK(posix_memalign(&pm, 64, (size_t)1 << 40) == ENOMEM && pm == NULL);

  /* exhaust the address space 1 MiB at a time, then 4 KiB at a time */
  size_t mib = 0, small_n = 0;
  for (;;) {
    struct chunk *c = malloc(1 << 20);
    if (!c) {
      RC_CHECK(errno == ENOMEM);
      break;
    }
    c->next = g_hold;
    g_hold = c;
    mib++;
    RC_CHECK(mib < 100000);
  }
  for (;;) {
    struct chunk *c = malloc(4000);
    if (!c) break;
    c->next = g_hold;
    g_hold = c;
    small_n++;
  }
  /* then 16-byte blocks: the rest of the current slab, and no new slab */
  size_t tiny_n = 0;
  for (;;) {
    struct chunk *c = malloc(16);
    if (!c) {
      RC_CHECK(errno == ENOMEM);
      break;
    }
    c->next = g_hold;
    g_hold = c;
    RC_CHECK(++tiny_n < 100000000);
  }
  RC_CHECK(mib > 16);
  fprintf(stderr, "exhausted after %zu MiB, %zu 4000-byte and %zu 16-byte blocks\n", mib, small_n, tiny_n);

  if (!strcmp(mode, "free")) {
    while (g_hold) {
      struct chunk *n = g_hold->next;
      free(g_hold);
      g_hold = n;
    }
    void *again = malloc(1 << 20);   /* the heap works again */
    RC_CHECK(again != NULL);
    memset(again, 2, 1 << 20);
    free(again);
  }
  printf("ok\n");
  fflush(stdout);
  rc_scrub();
  return 0;
}
