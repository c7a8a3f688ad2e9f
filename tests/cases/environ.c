/* The environment reachcheck leaves the program: the runtime sets Boehm's
 * GC_NPROCS only while GC_init runs (core/heap/heap.c, boehm_init), so the
 * program sees the variable only if its own environment has it, with its
 * own value. Prints "GC_NPROCS unset" or "GC_NPROCS=<value>", and whether
 * environ still holds the strings the kernel put on the stack (a copy of
 * the array that stayed would not), then leaks the known block. */
#include "rc_test.h"

extern char **environ;
extern void *__libc_stack_end;

int main(void)
{
  const char *v = getenv("GC_NPROCS");
  if (v) printf("GC_NPROCS=%s\n", v);
  else printf("GC_NPROCS unset\n");
  /* the kernel's envp array lies on the main stack, above __libc_stack_end */
  int on_stack = (uintptr_t)environ > (uintptr_t)__libc_stack_end;
  printf("environ on the stack: %s\n", on_stack ? "yes" : "no");
  fflush(stdout);
  rc_leak_known();
  rc_scrub();
  return 0;
}
