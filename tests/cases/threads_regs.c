/* A spinning thread keeps the only pointer to a block (88 bytes) in r13, a
 * register, never on its stack. Modes:
 *   plain        the thread spins with every signal deliverable
 *   sigmask      the thread first blocks every signal with pthread_sigmask
 *   sigprocmask  the same with sigprocmask
 * The checker must stop it (keeping its stop signal deliverable, as Boehm GC
 * does) and read r13 from its saved context.
 * Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"
#include <pthread.h>
#include <signal.h>

int g_ready;
static const char *g_mode = "plain";

void *alloc_for_reg(void) { return malloc(88); }

RC_NOINLINE void prepare(void)
{
  sigset_t all;
  sigfillset(&all);
  if (strcmp(g_mode, "sigmask") == 0) RC_CHECK(pthread_sigmask(SIG_BLOCK, &all, NULL) == 0);
  if (strcmp(g_mode, "sigprocmask") == 0) RC_CHECK(sigprocmask(SIG_BLOCK, &all, NULL) == 0);
}

RC_NOINLINE void scrub_here(void) { rc_scrub(); }

/* void spin_with_r13(void): never returns. */
void spin_with_r13(void);
__asm__(".text\n"
        ".globl spin_with_r13\n"
        ".type spin_with_r13, @function\n"
        "spin_with_r13:\n"
        "  push %rbp\n"
        "  mov %rsp, %rbp\n"
        "  push %r13\n"
        "  sub $8, %rsp\n"
        "  call prepare@PLT\n"
        "  call alloc_for_reg@PLT\n"
        "  mov %rax, %r13\n"
        "  call scrub_here@PLT\n"       /* zeroes dead stack and rax..r11 */
        "  lock incl g_ready(%rip)\n"
        "1:\n"
        "  pause\n"
        "  jmp 1b\n"
        ".size spin_with_r13, .-spin_with_r13\n");

void *thread_main(void *arg)
{
  spin_with_r13();
  return arg;
}

int main(int argc, char **argv)
{
  if (argc > 1) g_mode = argv[1];
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
