/* Globals of a stripped module (built with -rdynamic and
 * -fno-toplevel-reorder, then `strip --strip-all`): only .dynsym is left,
 * so the statics `hidden` (.bss) and `cfg_hidden` (.data) have no symbol.
 * Their words must group into one root per section region, named after the
 * exported object ending last before them (the linker's layout decides
 * which; run_daemons.py works it out from the unstripped file): e.g.
 * "rct_stripped_s:.bss (near g_table+0x18)" retaining 4 blocks
 * (100+200+300+400 bytes) and "rct_stripped_s:.data (near g_config+0x8)"
 * retaining 2 (50+70). g_table keeps its own name (3 x 30).
 * Takes one snapshot (argv[1]) and leaks the known 77-byte block. */
#include "rc_test.h"
#include <dlfcn.h>

struct stats { long counters[8]; };
struct stats g_stats;                    /* 0x40 bytes, exported */
static void *hidden[4];                  /* right after it in .bss */
void *g_table[3];                        /* exported */
long g_config = 1;                       /* .data, exported */
static void *cfg_hidden[2] = {(void *)1, (void *)1};

static RC_NOINLINE void fill(void)
{
  for (int i = 0; i < 4; i++) hidden[i] = malloc(100 * (i + 1));
  cfg_hidden[0] = malloc(50);
  cfg_hidden[1] = malloc(70);
  for (int i = 0; i < 3; i++) g_table[i] = malloc(30);
  g_stats.counters[0] = 1;
}

int main(int argc, char **argv)
{
  fill();
  if (argc > 1) {
    int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "reachcheck_snapshot");
    RC_CHECK(snap && snap(argv[1]) == 0);
  }
  rc_leak_known();
  rc_scrub();
  return 0;
}
