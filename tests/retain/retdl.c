/* dlopen'ed by retain_why.c: its __thread variable lives in dynamic TLS
 * (a block ld.so allocates), reached through the thread's DTV. */
#include <stdlib.h>

__thread void *dl_tls_cache;     /* -> 136 */

__attribute__((noinline)) void *dl_fill(void)
{
  dl_tls_cache = calloc(1, 136);
  return NULL;
}
__attribute__((noinline)) void *dl_block(void) { return dl_tls_cache; }
