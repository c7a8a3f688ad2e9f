/* User-level context switch: a coroutine runs on a stack that is a malloc'd
 * heap block. After makecontext the program forgets the stack's address, so
 * only the stack pointer leads to it. The coroutine holds block C(90) in a
 * local. Modes:
 *   exit    the coroutine calls exit(0) itself: the check runs with SP inside
 *           the heap block; main's pthread stack (holding block M(91) in a
 *           volatile local, suspended in swapcontext) must still be scanned
 *   thread  a second thread switches to the coroutine, which spins there
 * Expect direct 1 / 77, indirect 0 (the coroutine stack is in use: not leaked). */
#include "rc_test.h"
#include <pthread.h>
#include <ucontext.h>

#define CO_STACK (1 << 20)
static ucontext_t g_main_uc, g_co_uc;
static int g_ready;
static const char *g_mode = "exit";
void *g_handoff;

RC_NOINLINE void alloc_it(size_t n) { g_handoff = malloc(n); }
RC_NOINLINE void scrub_here(void) { rc_scrub(); }

void coroutine(void)
{
  /* the context we were started from holds our initial SP: forget it too */
  memset(&g_co_uc, 0, sizeof g_co_uc);
  alloc_it(90);
  void *volatile c = g_handoff;
  g_handoff = 0;
  scrub_here();
  if (strcmp(g_mode, "exit") == 0) {
    rc_leak_known();
    scrub_here();
    exit(0);
  }
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) __asm__ __volatile__("pause" ::: "memory");
  (void)c;
}

RC_NOINLINE void setup_coroutine(ucontext_t *back)
{
  RC_CHECK(getcontext(&g_co_uc) == 0);
  g_co_uc.uc_stack.ss_sp = malloc(CO_STACK);
  g_co_uc.uc_stack.ss_size = CO_STACK;
  g_co_uc.uc_link = back;
  makecontext(&g_co_uc, coroutine, 0);
  g_co_uc.uc_stack.ss_sp = NULL;   /* forget the stack's address */
}

void *thread_main(void *arg)
{
  static ucontext_t thread_uc;
  setup_coroutine(&thread_uc);
  scrub_here();
  swapcontext(&thread_uc, &g_co_uc);
  return arg;
}

int main(int argc, char **argv)
{
  if (argc > 1) g_mode = argv[1];
  if (strcmp(g_mode, "exit") == 0) {
    alloc_it(91);
    void *volatile m = g_handoff;
    g_handoff = 0;
    setup_coroutine(&g_main_uc);
    rc_scrub();
    swapcontext(&g_main_uc, &g_co_uc);
    rc_fail("coroutine returned");
    (void)m;
  }
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
