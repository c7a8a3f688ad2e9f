/* A library loaded with dlopen whose globals hold the only pointers to two
 * blocks (40 and 56 bytes) it allocates itself. */
#include <stdlib.h>
void *dlglob_ptr;
static void *dlglob_static;
__attribute__((noinline)) void dlglob_alloc(void)
{
  dlglob_ptr = malloc(40);
  dlglob_static = malloc(56);
  __asm__ __volatile__("" ::: "memory");
}
int dlglob_ok(void) { return dlglob_ptr != 0 && dlglob_static != 0; }
