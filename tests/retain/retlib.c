/* A shared library whose global and __thread variable retain blocks, for
 * the why-path tests (retain_why.c). */
#include <stdlib.h>

struct rnode { struct rnode *next; void *payload; char pad[24]; };   /* 40 bytes */

struct rnode *lib_registry;      /* -> 40 -> 40 -(payload)-> 56 */
__thread void *lib_tls;          /* -> 120 */

__attribute__((noinline)) void lib_build(void)
{
  struct rnode *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  a->next = b;
  b->payload = calloc(1, 56);
  lib_registry = a;
  lib_tls = calloc(1, 120);
}

__attribute__((noinline)) void *lib_target(void) { return lib_registry->next->payload; }
__attribute__((noinline)) void *lib_tls_block(void) { return lib_tls; }
