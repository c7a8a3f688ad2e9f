/* Other threads' stacks are roots, from their stack pointer up, including
 * the 128-byte red zone below SP.
 *  - T0 spins in a LEAF function (at -O0 its locals live in the red zone,
 *    below SP) holding block A(40)
 *  - T1 spins in a C loop two frames deep holding B(41) in a volatile local
 *  - T2 waits on a condition variable (futex) holding C(42)
 *  - T3 runs on a malloc'd user stack (pthread_attr_setstack) and spins
 *    holding D(43)
 * Plus the known leak. Expect direct 1 / 77, indirect 0, reachable >= 4. */
#include "rc_test.h"
#include <pthread.h>

static int g_ready;
void *g_handoff[4];
void *g_user_stack;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

RC_NOINLINE void alloc_into(int i, size_t n) { g_handoff[i] = malloc(n); }

/* A leaf: no calls, so gcc -O0 keeps `p` below the stack pointer. */
RC_NOINLINE void spin_leaf(void)
{
  void *volatile p = g_handoff[0];
  g_handoff[0] = 0;
  /* leave the pointer only in the red zone, not in a scratch register */
  __asm__ __volatile__("xor %%eax, %%eax\n\txor %%edx, %%edx" ::: "rax", "rdx", "memory");
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) __asm__ __volatile__("pause" ::: "memory");
  (void)p;
}

void *t0(void *arg)
{
  alloc_into(0, 40);
  rc_scrub();
  spin_leaf();
  return arg;
}

RC_NOINLINE void spin_deep(int depth)
{
  if (depth > 0) { spin_deep(depth - 1); return; }
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) __asm__ __volatile__("pause" ::: "memory");
}

void *t1(void *arg)
{
  alloc_into(1, 41);
  void *volatile p = g_handoff[1];
  g_handoff[1] = 0;
  rc_scrub();
  spin_deep(2);
  return (void *)p;
}

void *t2(void *arg)
{
  alloc_into(2, 42);
  void *volatile p = g_handoff[2];
  g_handoff[2] = 0;
  rc_scrub();
  pthread_mutex_lock(&mu);
  __atomic_add_fetch(&g_ready, 1, __ATOMIC_SEQ_CST);
  for (;;) pthread_cond_wait(&cv, &mu);
  return (void *)p;
}

void *t3(void *arg)
{
  alloc_into(3, 43);
  void *volatile p = g_handoff[3];
  g_handoff[3] = 0;
  rc_scrub();
  spin_deep(1);
  return (void *)p;
}

int main(void)
{
  pthread_t t;
  RC_CHECK(pthread_create(&t, NULL, t0, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, t1, NULL) == 0);
  RC_CHECK(pthread_create(&t, NULL, t2, NULL) == 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  size_t sz = 1 << 20;
  g_user_stack = malloc(sz);
  RC_CHECK(pthread_attr_setstack(&attr, g_user_stack, sz) == 0);
  RC_CHECK(pthread_create(&t, &attr, t3, NULL) == 0);
  while (__atomic_load_n(&g_ready, __ATOMIC_SEQ_CST) < 4) usleep(1000);
  rc_leak_known();
  rc_scrub();
  return 0;
}
