/* Dead frames at exit are not roots (LLVM's stale_stack_leak and
 * exit_atexit_stale_stack, our own version). A helper fills a 32 KiB local
 * array with copies of the only pointer to a 1337-byte block and returns;
 * then the program leaves, so every copy lies in dead stack between where
 * exit() was called and where the at-exit check runs, and the exit
 * machinery's frames cannot overwrite them all. Modes:
 *   return   main returns 0 (glibc calls its exit directly)
 *   exit     main calls exit(0)
 *   nested   a function two frames below main calls exit(0); main's and
 *            that function's frames are live and hold block K (99 bytes)
 *   thread   a thread fills its own stack, then calls exit(0)
 *   handler  an atexit handler runs a scoped check (the API): its live
 *            frame is below exit()'s caller and holds block H (55 bytes)
 *            in a local, so the scope has no leak; at exit H is leaked
 * Every mode: direct 1 block of 1337 (plus H=55 in handler mode). */
#include "rc_test.h"
#include <pthread.h>
#include <reachcheck.h>

static void *volatile g_handoff;

RC_NOINLINE void fill_dead_frame(void)
{
  void *volatile slots[4096];
  void *p = malloc(1337);
  for (int i = 0; i < 4096; i++) slots[i] = p;
  rc_barrier(slots);
  p = NULL;
}

/* The frames a nested exit path builds must not land on copies: they would
 * be (conservatively) live slots of live frames. Zero the top 2 KiB. */
RC_NOINLINE void zero_top(void)
{
  volatile char b[2048];
  memset((char *)b, 0, sizeof b);
  rc_barrier(b);
}

RC_NOINLINE void exit_two_below(void)
{
  void *volatile k2 = g_handoff;   /* a live local of a live frame */
  rc_clear_regs();
  exit(0);
  rc_barrier(k2);
}

RC_NOINLINE void one_below(void)
{
  exit_two_below();
}

static void *thread_main(void *arg)
{
  (void)arg;
  fill_dead_frame();
  rc_clear_regs();
  exit(0);
}

RC_NOINLINE void alloc_h(void) { g_handoff = malloc(55); }

static void handler(void)
{
  uint32_t tok = reachcheck_scope_begin();
  alloc_h();
  void *volatile h = g_handoff;
  g_handoff = NULL;
  reachcheck_scrub_stack();
  /* A check from inside exit keeps its own bound: this frame is live. */
  long n = reachcheck_scope_end(tok, NULL, 1);
  printf("handler scope leaks: %ld\n", n);
  fflush(stdout);
  h = NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "return";
  if (!strcmp(mode, "thread")) {
    pthread_t t;
    RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
    pthread_join(t, NULL);
    return 1;
  }
  if (!strcmp(mode, "handler")) atexit(handler);
  fill_dead_frame();
  rc_clear_regs();
  if (!strcmp(mode, "exit") || !strcmp(mode, "handler")) exit(0);
  if (!strcmp(mode, "nested")) {
    zero_top();
    g_handoff = malloc(99);
    one_below();
  }
  return 0;
}
