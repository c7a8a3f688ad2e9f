/* `new T[0]` of a T with a destructor is an 8-byte block holding only the
 * array cookie (count 0), and the program's pointer is one past its end:
 * reachable (LLVM's new_array_with_dtor_0). The rule is exact: an 8-byte
 * block whose first word is not 0, pointed to only one past its end, is
 * leaked; so is a 16-byte block pointed to only at its end.
 * Expect direct 3: the known 77, 8 (cookie 5), 16 (end pointer). */
#include "rc_test.h"

struct WithDtor {
  ~WithDtor() { printf("never\n"); }
};

WithDtor *volatile g_empty;      /* new WithDtor[0]: block + 8 */
char *volatile g_cookie5_end;    /* an 8-byte block holding 5, pointed at its end */
char *volatile g_end16;          /* a 16-byte block, pointed at its end */

RC_NOINLINE void make(void)
{
  g_empty = new WithDtor[0];
  char *b = (char *)malloc(8);
  *(long *)b = 5;
  g_cookie5_end = b + 8;
  char *c = (char *)calloc(1, 16);
  g_end16 = c + 16;
}

int main()
{
  make();
  rc_leak_known();
  rc_scrub();
  printf("ok\n");
  return 0;
}
