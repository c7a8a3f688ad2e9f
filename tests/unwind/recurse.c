/* (a) deep recursive C call chains through frames of different shapes, and
 * (e) many threads unwinding at once while another thread keeps flushing
 * the cache. Built at -O0/-O2/-O3, with and without -fomit-frame-pointer.
 * usage: recurse main | threads N | flush N | wrap (2^18 flushes: the
 * cache's 17-bit key generations wrap twice) */
#include <alloca.h>
#include <pthread.h>
#include <stdarg.h>
#include "rcu.h"

static int dispatch(int d, int s);
static volatile int sink;

static RCU_NOINLINE int f_plain(int d, int s)
{
  int r = dispatch(d - 1, s + 1);
  return r + 1;
}
static RCU_NOINLINE int f_array(int d, int s)   /* mid-sized frame */
{
  volatile char buf[1000];
  buf[s % 1000] = (char)d;
  int r = dispatch(d - 1, s * 3 + 1);
  return r + buf[s % 1000];
}
static RCU_NOINLINE int f_alloca(int d, int s)  /* dynamic frame: rbp-based CFA */
{
  volatile char *p = alloca((size_t)(16 + (d % 7) * 48));
  p[0] = (char)s;
  int r = dispatch(d - 1, s + 5);
  return r + p[0];
}
static RCU_NOINLINE int f_regs(int d, int s)    /* many callee-saved registers */
{
  int a = sink + d, b = sink * s, c = sink ^ d, e = sink - s, f = sink + 3 * d, g = sink * 7;
  int r = dispatch(d - 1, s + 2);
  return r + a + b + c + e + f + g + (a * b) + (c ^ e) + (f | g);
}
static RCU_NOINLINE int f_vararg(int d, ...)
{
  va_list ap;
  va_start(ap, d);
  int s = va_arg(ap, int);
  va_end(ap);
  return dispatch(d - 1, s + 4) + 1;
}
static RCU_NOINLINE int f_big(int d, int s)     /* 100 KiB frame */
{
  volatile char big[100000];
  big[(unsigned)s % sizeof big] = 1;
  int r = dispatch(d - 1, s + 7);
  return r + big[(unsigned)s % sizeof big];
}
static RCU_NOINLINE int f_tail(int d, int s)    /* a sibling call at -O2 */
{
  if (s & 1) return dispatch(d - 1, s + 1);
  return f_plain(d, s + 1);
}

static int dispatch(int d, int s)
{
  if (d <= 0) return rcu_compare();
  if ((d & 3) == 0) rcu_compare();  /* shallower stacks too, down to the outermost frame */
  switch ((unsigned)(d * 7 + s) % 7) {
  case 0: return f_plain(d, s);
  case 1: return f_array(d, s);
  case 2: return f_alloca(d, s);
  case 3: return f_regs(d, s);
  case 4: return f_vararg(d, s);
  case 5: return d > 40 ? f_plain(d, s) : f_big(d, s);
  default: return f_tail(d, s);
  }
}

static void run(int rounds)
{
  for (int i = 0; i < rounds; i++) sink += dispatch(1 + (i * 13) % 90, i);
}

static void *worker(void *arg)
{
  run((int)(intptr_t)arg);
  return NULL;
}

static volatile int stop;
static void *flusher(void *arg)
{
  (void)arg;
  while (!stop) {
    rc_unwind_flush();
    for (volatile int i = 0; i < 20000; i++) {}
  }
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "main";
  int nthreads = argc > 2 ? atoi(argv[2]) : 8;
  if (!strcmp(mode, "main")) {
    run(400);
    return rcu_finish("recurse main", 400, 0);
  }
  if (!strcmp(mode, "wrap")) {
    for (int i = 0; i < (1 << 18) + 77; i++) {
      rc_unwind_flush();
      if (i % 997 == 0) run(2);
    }
    return rcu_finish("recurse wrap", 400, 0);
  }
  pthread_t t[64], fl;
  if (nthreads > 64) nthreads = 64;
  if (!strcmp(mode, "flush")) pthread_create(&fl, NULL, flusher, NULL);
  for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)(intptr_t)200);
  run(100);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
  if (!strcmp(mode, "flush")) {
    stop = 1;
    pthread_join(fl, NULL);
  }
  return rcu_finish(mode, 100 + 200L * nthreads, 0);
}
