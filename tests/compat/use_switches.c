/* One root of each kind keeps one block; LSAN_OPTIONS' use_* switches (and
 * reachcheck's scan_* options) turn each kind off. Modes:
 *   globals    G 41 held by a global
 *   stacks     S 42 held by a local of main (the exit bound keeps main live)
 *   registers  R 43 held by a callee-saved register at exit()
 *   tls        T 44 held by a __thread variable
 *   unaligned  A 45 held at an odd offset of a global
 * Each mode also leaks the known 77: direct 1/77 with the switch on, and
 * direct 2 with it off. */
#include "rc_test.h"

void *g_keep;
__thread void *t_keep;
unsigned char g_bytes[64];
static void *volatile handoff;
RC_NOINLINE void alloc_n(size_t n) { handoff = malloc(n); }

void *alloc_43(void) { return malloc(43); }
RC_NOINLINE void scrub_here(void) { rc_scrub(); }
void exit_with_rbx(void);
__asm__(".text\n.globl exit_with_rbx\n.type exit_with_rbx, @function\nexit_with_rbx:\n"
        "  push %rbp\n  mov %rsp, %rbp\n  push %rbx\n  sub $8, %rsp\n"
        "  call alloc_43@PLT\n  mov %rax, %rbx\n  call scrub_here@PLT\n"
        "  xor %edi, %edi\n  call exit@PLT\n  ud2\n.size exit_with_rbx, .-exit_with_rbx\n");

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "globals";
  rc_leak_known();
  if (!strcmp(mode, "registers")) {
    rc_scrub();
    exit_with_rbx();
  }
  void *volatile s = NULL;
  if (!strcmp(mode, "globals")) alloc_n(41), g_keep = handoff;
  if (!strcmp(mode, "stacks")) alloc_n(42), s = handoff;
  if (!strcmp(mode, "tls")) alloc_n(44), t_keep = handoff;
  if (!strcmp(mode, "unaligned")) {
    alloc_n(45);
    void *p = handoff;
    memcpy(g_bytes + 3, &p, sizeof p);
    p = NULL;
  }
  handoff = NULL;
  rc_scrub();
  exit(0);
}
