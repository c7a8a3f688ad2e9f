/* Globals and statics are roots: writable segments of the executable and of
 * a linked shared library (libtlsdep.so). Blocks held only by: a .bss global
 * (31), an initialized .data struct (32), a function's static local (33), a
 * file-static array slot (34), and the library's global (35).
 * Expect direct 1 / 77, indirect 0, reachable >= 5. */
#include "rc_test.h"

void tlsdep_set_global(void *p);
void *g_bss;
struct { long tag; void *p; } g_data = {12345, NULL};
static void *s_array[16];

RC_NOINLINE void set_all(void)
{
  static void *s_local;
  g_bss = malloc(31);
  g_data.p = malloc(32);
  s_local = malloc(33);
  s_array[9] = malloc(34);
  tlsdep_set_global(malloc(35));
  RC_CHECK(s_local != NULL);
}

int main(void)
{
  set_all();
  rc_leak_known();
  rc_scrub();
  return 0;
}
