/* Open FILEs that are never closed are not leaks: they hang off
 * _IO_list_all in libc's data. The FILE* is dropped by the program.
 * Also fdopen, and a FILE whose buffer setvbuf made libc malloc.
 * Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"

RC_NOINLINE void open_and_forget(void)
{
  FILE *volatile f = fopen("/dev/null", "w");
  RC_CHECK(f != NULL);
  fprintf(f, "hello %d\n", 42);   /* allocates the stream buffer */
  f = fopen("/proc/self/maps", "r");
  RC_CHECK(f != NULL);
  RC_CHECK(fgetc(f) != EOF);
  f = fdopen(dup(2), "w");
  RC_CHECK(f != NULL);
  RC_CHECK(setvbuf(f, NULL, _IOFBF, 8192) == 0);
  fputs("", f);
  f = NULL;
}

int main(void)
{
  open_and_forget();
  rc_leak_known();
  rc_scrub();
  return 0;
}
