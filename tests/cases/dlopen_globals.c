/* Globals of a dlopen'ed library are roots while it is loaded, and stop
 * being roots once dlclose unmaps it. The library allocates two blocks (40 and
 * 56 bytes) and keeps them in its own globals. Usage: dlopen_globals LIB MODE
 *   open   the library stays loaded: both blocks reachable.
 *          Expect direct 1 / 77.
 *   close  dlclose unmaps it: both blocks leak, and their allocation stacks
 *          (frames in the unloaded library) still name its path and function.
 *          Expect direct 3 blocks / 173 bytes. */
#include "rc_test.h"
#include <dlfcn.h>
#include <link.h>

static const char *g_path;
static int g_found;

static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  (void)data;
  if (info->dlpi_name && strstr(info->dlpi_name, "libdlglob")) g_found = 1;
  return 0;
}

RC_NOINLINE void load_and_alloc(int close_it)
{
  void *h = dlopen(g_path, RTLD_NOW | RTLD_LOCAL);
  if (!h) rc_fail(dlerror());
  void (*alloc)(void) = (void (*)(void))dlsym(h, "dlglob_alloc");
  int (*ok)(void) = (int (*)(void))dlsym(h, "dlglob_ok");
  RC_CHECK(alloc && ok);
  alloc();
  RC_CHECK(ok());
  if (close_it) {
    RC_CHECK(dlclose(h) == 0);
    RC_CHECK(dlopen(g_path, RTLD_NOW | RTLD_NOLOAD) == NULL);   /* really unloaded */
    g_found = 0;
    dl_iterate_phdr(find_lib, NULL);
    RC_CHECK(!g_found);
  }
}

int main(int argc, char **argv)
{
  RC_CHECK(argc == 3);
  g_path = argv[1];
  load_and_alloc(strcmp(argv[2], "close") == 0);
  rc_leak_known();
  rc_scrub();
  return 0;
}
