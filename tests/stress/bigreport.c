/* A program whose report takes a while to write: 2^12 leaks, each from a
 * different call path (so 4096 leak groups with full stacks to symbolize),
 * plus a mode that aborts instead of exiting. Used by faults.py to kill the
 * process while the JSON report is being written.
 *   bigreport exit    leak and exit normally
 *   bigreport abort   leak and abort(): no report, no file */
#include "stress.h"

#define BITS 12
RC_NOINLINE void path_b(unsigned bits, int depth);

RC_NOINLINE void path_a(unsigned bits, int depth)
{
  if (depth == 0) {
    void *volatile p = malloc(16 + bits % 64);
    rc_barrier(p);
    p = NULL;
    return;
  }
  if (bits & 1) path_b(bits >> 1, depth - 1);
  else path_a(bits >> 1, depth - 1);
  rc_compiler_barrier();
}

RC_NOINLINE void path_b(unsigned bits, int depth)
{
  if (depth == 0) {
    void *volatile p = malloc(16 + bits % 64);
    rc_barrier(p);
    p = NULL;
    return;
  }
  if (bits & 1) path_b(bits >> 1, depth - 1);
  else path_a(bits >> 1, depth - 1);
  rc_compiler_barrier();
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "exit";
  for (unsigned i = 0; i < (1u << BITS); i++) path_a(i, BITS);
  rc_scrub();
  printf("leaked %u\n", 1u << BITS);
  fflush(stdout);
  if (!strcmp(mode, "abort")) abort();
  return 0;
}
