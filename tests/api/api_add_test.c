/* For reachcheck_add_test(): leaks the known block unless run with "clean". */
#include "../rc_test.h"

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "clean")) rc_leak_known();
  rc_scrub();
  return 0;
}
