/* Prints "main ran" first, tells whether libreachcheck.so is loaded, leaks
 * 48 bytes and exits with argv[1] (default 0). Used by the option tests. */
#include "rc_test.h"
#include <link.h>

static int g_found;

static int find_rt(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  (void)data;
  if (info->dlpi_name && strstr(info->dlpi_name, "libreachcheck")) g_found = 1;
  return 0;
}

RC_NOINLINE void leak48(void)
{
  void *volatile p = malloc(48);
  rc_barrier(p);
  p = NULL;
}

int main(int argc, char **argv)
{
  printf("main ran\n");
  dl_iterate_phdr(find_rt, NULL);
  printf("preloaded: %s\n", g_found ? "yes" : "no");
  fflush(stdout);
  leak48();
  rc_scrub();
  return argc > 1 ? atoi(argv[1]) : 0;
}
