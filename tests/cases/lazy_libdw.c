/* libdw is loaded when the runtime first symbolizes (symbols/dw.h), never
 * at start-up: a process, and a check in it that finds no leak, have no
 * libdw mapped (printed: "libdw at start 0", "libdw after a clean check 0"),
 * nor zlib, which only profiles need (base/pprof_write.c: "libz at start 0");
 * the exit report then loads it to give the one leak (53 bytes) its
 * function and file:line, which the test asserts from the JSON. */
#include "rc_test.h"
#include <dlfcn.h>
#include <stdio.h>
#include "reachcheck.h"

/* Whether a library whose file name starts with `name` is mapped. */
static int mapped(const char *name)
{
  FILE *f = fopen("/proc/self/maps", "r");
  RC_CHECK(f != NULL);
  char line[4096];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    const char *slash = strrchr(line, '/');
    if (slash && !strncmp(slash + 1, name, strlen(name))) found = 1;
  }
  fclose(f);
  return found;
}
static int libdw_mapped(void) { return mapped("libdw.so") || mapped("libdw-"); }

RC_NOINLINE void lazy_leak(void)
{
  char *volatile p = malloc(53);
  RC_CHECK(p != NULL);
  memset(p, 2, 53);
  rc_barrier(p);
  p = NULL;
}

int main(void)
{
  __typeof__(&reachcheck_check) check = (__typeof__(&reachcheck_check))dlsym(RTLD_DEFAULT, "reachcheck_check");
  RC_CHECK(check != NULL);
  void *volatile kept = malloc(100);   /* reachable: a clean check has blocks to mark */
  printf("libdw at start %d\n", libdw_mapped());
  printf("libz at start %d\n", mapped("libz.so"));
  struct reachcheck_result r;
  long n = check(&r, 1);   /* print=1: a report with nothing to report symbolizes nothing */
  printf("clean check %ld\n", n);
  printf("libdw after a clean check %d\n", libdw_mapped());
  fflush(stdout);
  lazy_leak();
  rc_scrub();
  free(kept);
  return 0;
}
