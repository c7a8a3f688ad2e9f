/* Bad frees get a one-line diagnostic on stderr naming the problem; the
 * program continues and its exit status is unaffected. Modes:
 *   double         free(p) twice
 *   invalid        free of a stack address, of a global, and of p+8 (interior
 *                  of a live block); 16-byte aligned interior pointers, where
 *                  the 16 bytes in front are user data: zeros, a copy of a
 *                  real header, a page of a large block that holds no header;
 *                  and the place of a slab object never handed out
 *   realloc_freed  realloc of a freed pointer
 * Nothing leaks: direct 0, indirect 0, exit 0, "continued" on stdout.
 * With abort_on_error=1 the double free aborts instead. */
#include "rc_test.h"

static char g_global[64];

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "double";
  void *volatile p = malloc(32);
  if (strcmp(mode, "double") == 0) {
    free(p);
    free(p);
  } else if (strcmp(mode, "invalid") == 0) {
    char local[32];
    free(local);
    free(g_global);
    free((char *)p + 8);
    char *big = malloc(3 * 4096);
    memset(big, 0, 3 * 4096);
    free(big + 32);                                      /* zeros in front */
    memcpy(big + 64, (char *)p - 16, 16);                /* a live block's header, copied */
    free(big + 80);
    char *page = (char *)(((uintptr_t)big + 2 * 4096) & ~(uintptr_t)4095);
    free(page + 16);                                     /* a page that holds no header */
    free(big);
    char *q = malloc(1500);   /* 1520-byte slab objects: a class nothing else here uses */
    free(q + 16 * 1520);      /* an object of q's slab that was never handed out */
    free(q);
    free(p);
  } else if (strcmp(mode, "realloc_freed") == 0) {
    free(p);
    void *q = realloc(p, 64);
    if (q && q != p) free(q);
  } else {
    rc_fail("unknown mode");
  }
  /* the heap still works: fresh blocks are distinct and writable */
  void *blocks[200];
  for (int i = 0; i < 200; i++) {
    blocks[i] = malloc(32);
    memset(blocks[i], i, 32);
  }
  for (int i = 0; i < 200; i++)
    for (int j = 0; j < i; j++) RC_CHECK(blocks[i] != blocks[j]);
  for (int i = 0; i < 200; i++) free(blocks[i]);
  p = NULL;
  printf("continued\n");
  fflush(stdout);
  rc_scrub();
  return 0;
}
