/* reachcheck_why: shortest root paths, exactly. Each block asked about is
 * named only through an xor-masked global (never a pointer the scan sees),
 * so the path found is the program's own:
 *   lib_registry (libretlib.so global) -> 40 -> 40 -(+8)-> 56    returns 3
 *   lib_tls (libretlib.so __thread, main thread) -> 120           returns 1
 *   t_chain (this program's __thread, main thread) -> 24 -(+16)-> 88   returns 2
 *   t_chain of a second, blocked thread -> 24 -(+16)-> 72         returns 2
 *   dl_tls_cache (__thread of a dlopen'ed library: dynamic TLS) -> 136   returns 1
 *   a leaked block: 0, or 1 (a path from the asking frame) when the asking
 *   frame holds the only pointer; an address outside the heap: -1.
 * Prints one line per query: "why NAME RET JSON". Leaks the known block. */
#include "rc_test.h"
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>

#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
struct tnode { long tag; struct tnode *next; void *payload; };   /* 24 bytes */

void lib_build(void);
void *lib_target(void);
void *lib_tls_block(void);

static __thread struct tnode *t_chain;
static uintptr_t g_main_target, g_thread_target, g_leak;   /* masked */
static long g_thread_tid;
static sem_t g_ready, g_done;
static char g_buf[1 << 16];
static int (*why)(const void *, char *, size_t);

RC_NOINLINE uintptr_t build_chain(size_t target_size)
{
  t_chain = calloc(1, sizeof *t_chain);
  t_chain->payload = calloc(1, target_size);
  return (uintptr_t)t_chain->payload ^ MASK;
}

RC_NOINLINE void free_chain(void)
{
  free(t_chain->payload);
  free(t_chain);
  t_chain = NULL;
}

static void *thread_main(void *arg)
{
  (void)arg;
  g_thread_target = build_chain(72);
  g_thread_tid = (long)syscall(SYS_gettid);
  rc_scrub();
  sem_post(&g_ready);
  while (sem_wait(&g_done)) {}
  free_chain();
  return NULL;
}

RC_NOINLINE void leak_masked(void)
{
  void *volatile p = malloc(99);
  g_leak = (uintptr_t)p ^ MASK;
  p = NULL;
}

/* p is a local of this frame: the caller's own reference, which
 * reachcheck_why leaves out unless nothing else reaches the block. */
RC_NOINLINE void ask(const char *name, const void *p)
{
  int r = why(p, g_buf, sizeof g_buf);
  printf("why %s %d %s\n", name, r, g_buf);
  fflush(stdout);
}

/* Here the pointer exists only in argument registers. */
RC_NOINLINE void ask_masked(const char *name, uintptr_t masked)
{
  int r = why((const void *)(masked ^ MASK), g_buf, sizeof g_buf);
  printf("why %s %d %s\n", name, r, g_buf);
  fflush(stdout);
}

int main(int argc, char **argv)
{
  RC_CHECK(argc == 2);
  why = (int (*)(const void *, char *, size_t))dlsym(RTLD_DEFAULT, "reachcheck_why");
  RC_CHECK(why != NULL);
  void *dl = dlopen(argv[1], RTLD_NOW);
  RC_CHECK(dl != NULL);
  void *(*dl_fill)(void) = (void *(*)(void))dlsym(dl, "dl_fill");
  void *(*dl_block)(void) = (void *(*)(void))dlsym(dl, "dl_block");
  RC_CHECK(dl_fill && dl_block);
  lib_build();
  dl_fill();
  g_main_target = build_chain(88);
  leak_masked();
  sem_init(&g_ready, 0, 0);
  sem_init(&g_done, 0, 0);
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, thread_main, NULL) == 0);
  while (sem_wait(&g_ready)) {}
  printf("thread %ld\nmain %ld\n", g_thread_tid, (long)getpid());
  rc_scrub();
  ask("lib_global", lib_target());
  ask("lib_tls", lib_tls_block());
  ask_masked("main_tls", g_main_target);
  ask_masked("thread_tls", g_thread_target);
  ask("dl_tls", dl_block());
  ask_masked("leaked", g_leak);
  ask("leaked_held", (void *)(g_leak ^ MASK));
  ask("not_heap", g_buf);
  free((void *)(g_leak ^ MASK));
  sem_post(&g_done);
  pthread_join(t, NULL);
  rc_leak_known();
  rc_scrub();
  return 0;
}
