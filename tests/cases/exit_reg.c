/* The exit path keeps a pointer in a callee-saved register: a function calls
 * exit() while the only pointer to block R(99) lives in r14 (and whatever
 * exit()'s frames spill it to). The check must see the registers and the
 * spill slots of the thread that runs it.
 * Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"

void *alloc_for_reg(void) { return malloc(99); }
RC_NOINLINE void scrub_here(void) { rc_scrub(); }

void exit_with_r14(void);
__asm__(".text\n"
        ".globl exit_with_r14\n"
        ".type exit_with_r14, @function\n"
        "exit_with_r14:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  push %r14\n"
        "  sub $8, %rsp\n"
        "  call alloc_for_reg@PLT\n"
        "  mov %rax, %r14\n"
        "  call scrub_here@PLT\n"
        "  xor %edi, %edi\n"
        "  call exit@PLT\n"
        "  ud2\n"
        ".size exit_with_r14, .-exit_with_r14\n");

int main(void)
{
  rc_leak_known();
  rc_scrub();
  exit_with_r14();
  return 1;
}
