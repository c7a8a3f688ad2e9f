/* (f) dlopen A, unwind through it, dlclose, dlopen B at the same address,
 * unwind through B: the same return address needs a different rule, so the
 * cache must be flushed at dlclose (the runtime's dlclose wrapper does it;
 * this harness calls rc_unwind_flush itself). With "noflush" the stale rule
 * must show up as wrong stacks: proof that the test can fail.
 * usage: dl libA.so libB.so [rounds] [noflush] */
#include "rcu.h"

typedef int (*entry_fn)(int (*)(void));
static int cb(void) { return rcu_compare(); }

static int through(const char *path, uintptr_t *where)
{
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "dlopen %s: %s\n", path, dlerror()); exit(2); }
  entry_fn f = (entry_fn)dlsym(h, "rcu_dl_entry");
  *where = (uintptr_t)f;
  int r = 0;
  for (int i = 0; i < 3; i++) r += f(cb);
  dlclose(h);
  return r;
}

int main(int argc, char **argv)
{
  if (argc < 3) return 2;
  int rounds = argc > 3 ? atoi(argv[3]) : 50;
  int flush = !(argc > 4 && !strcmp(argv[4], "noflush"));
  int same = 0;
  rcu_slow_reference = 1;
  for (int i = 0; i < rounds; i++) {
    uintptr_t a, b;
    const char *first = argv[1 + (i & 1)], *second = argv[2 - (i & 1)];   /* both orders */
    through(first, &a);
    if (flush) rc_unwind_flush();
    through(second, &b);
    if (flush) rc_unwind_flush();
    same += a == b;
  }
  printf("dl: %d of %d reloads at the same address\n", same, rounds);
  if (!flush) {
    /* stale rules give wrong stacks (B first: its rsp-based rule misreads A) */
    int noticed = rcu_mismatch > 0;
    printf("noflush: %ld equal, %ld fallback, %ld mismatch\n", rcu_equal, rcu_fallback, rcu_mismatch);
    printf("noflush: stale rules %s\n", noticed ? "detected" : "NOT detected");
    return same && noticed ? 0 : 1;
  }
  if (!same) { fprintf(stderr, "the libraries never shared an address: test is void\n"); return 1; }
  return rcu_finish("dl", 6L * rounds, 0);
}
