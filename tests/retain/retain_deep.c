/* Many roots: every frame of a recursion D deep holds one 40-byte block in
 * a local, so each frame is a root retaining exactly that block; the
 * deepest frame leaks the known block and exits, and the at-exit retention
 * runs with all D frames live. D = 300 and 70000 cross the widths of the
 * ownership pass's per-slot owner codes (retain/owner.c: 1, 2 or 4 bytes
 * by the number of roots).   usage: retain_deep D */
#include "rc_test.h"

static long depth_max;

RC_NOINLINE void down(long d)
{
  void *volatile p = malloc(40);
  if (d + 1 < depth_max) {
    down(d + 1);
  } else {
    rc_leak_known();
    rc_clear_regs();
    exit(0);
  }
  free(p);   /* never reached: keeps p live in this frame */
}

int main(int argc, char **argv)
{
  depth_max = argc > 1 ? atol(argv[1]) : 300;
  down(0);
  return 1;
}
