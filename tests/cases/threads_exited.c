/* Exited threads: glibc caches their stacks, and their TCB, DTV and dynamic
 * TLS stay allocated, reachable only through ld.so's data. Not leaks.
 * 16 joined and 8 detached threads use static TLS, dynamic TLS of a dlopen'ed
 * library (argv[1]), pthread keys (also >= 32) and malloc; each frees what it
 * stored, leaks exactly one block of 33 bytes, and exits.
 * Expect direct 24 blocks / 792 bytes, indirect 0. */
#include "rc_test.h"
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>

__thread void *t_static;
static void (*g_dset)(void *);
static void *(*g_dget)(void);
static pthread_key_t g_keys[40];
static int g_done;

RC_NOINLINE void leak33(void)
{
  void *volatile p = malloc(33);
  rc_barrier(p);
  p = NULL;
}

RC_NOINLINE void work(void)
{
  t_static = malloc(100);
  g_dset(malloc(200));
  for (int i = 0; i < 40; i++) pthread_setspecific(g_keys[i], malloc(8));
  for (int i = 0; i < 100; i++) free(malloc((size_t)i * 10));
  free(t_static);
  t_static = NULL;
  free(g_dget());
  g_dset(NULL);
  for (int i = 0; i < 40; i++) {
    free(pthread_getspecific(g_keys[i]));
    pthread_setspecific(g_keys[i], NULL);
  }
  leak33();
}

void *worker(void *arg)
{
  work();
  rc_scrub();
  __atomic_add_fetch(&g_done, 1, __ATOMIC_SEQ_CST);
  return arg;
}

/* Threads of this process the kernel still lists. */
static int tasks(void)
{
  DIR *d = opendir("/proc/self/task");
  if (!d) rc_fail("opendir /proc/self/task");
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

int main(int argc, char **argv)
{
  RC_CHECK(argc == 2);
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) rc_fail(dlerror());
  g_dset = (void (*)(void *))dlsym(h, "dtls_set");
  g_dget = (void *(*)(void))dlsym(h, "dtls_get");
  for (int i = 0; i < 40; i++) RC_CHECK(pthread_key_create(&g_keys[i], NULL) == 0);
  pthread_t t[16];
  for (int i = 0; i < 16; i++) RC_CHECK(pthread_create(&t[i], NULL, worker, NULL) == 0);
  for (int i = 0; i < 16; i++) RC_CHECK(pthread_join(t[i], NULL) == 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < 8; i++) {
    pthread_t d;
    RC_CHECK(pthread_create(&d, &attr, worker, NULL) == 0);
  }
  while (__atomic_load_n(&g_done, __ATOMIC_SEQ_CST) < 24) usleep(1000);
  /* Let the detached threads finish exiting: until the kernel lists this
   * thread alone (a fixed 200 ms sleep was once too short under a loaded
   * parallel ctest, and a thread still exiting is stopped and scanned as
   * live), at most 20 s. */
  for (int i = 0; i < 20000 && tasks() > 1; i++) usleep(1000);
  rc_scrub();
  return 0;
}
