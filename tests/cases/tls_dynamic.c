/* Dynamic TLS: dlopen each library given on the command line (copies of
 * libs/dtls.c) and store a block in its __thread variable, in the main thread
 * and in a second thread that stays blocked. The blocks are reachable only
 * through the DTVs. With 20 libraries the DTVs outgrow their initial size and
 * glibc reallocates them with malloc (the TCB then keeps dtv+1: an interior
 * pointer). Blocks: 48 bytes each.
 * Expect direct 1 / 77, indirect 0, reachable >= 2 * number of libraries. */
#include "rc_test.h"
#include <dlfcn.h>
#include <pthread.h>

#define MAXLIB 64
static int g_ready, g_nlib;
static void (*g_set[MAXLIB])(void *);
static void *(*g_get[MAXLIB])(void);

RC_NOINLINE void set_all(void)
{
  for (int i = 0; i < g_nlib; i++) {
    g_set[i](malloc(48));
    RC_CHECK(g_get[i]() != NULL);
  }
}

void *worker(void *arg)
{
  set_all();
  rc_scrub();
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pause();
  return arg;
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc && g_nlib < MAXLIB; i++) {
    void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) rc_fail(dlerror());
    g_set[g_nlib] = (void (*)(void *))dlsym(h, "dtls_set");
    g_get[g_nlib] = (void *(*)(void))dlsym(h, "dtls_get");
    RC_CHECK(g_set[g_nlib] && g_get[g_nlib]);
    g_nlib++;
  }
  set_all();
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 1) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
