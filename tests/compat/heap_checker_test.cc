// gperftools' heap-checker_unittest scenarios, our own version, over
// include/compat/gperftools/heap-checker.h. Each scenario prints
// "NAME: NoLeaks=B objects=N bytes=M"; the test asserts every line.
//   cycle        two blocks pointing at each other, dropped: 2 objects leaked
//                (both indirect: a pure cycle has no direct leak)
//   interior     a global holds a pointer 10 bytes into a block: no leak
//   multiple     a global B* points into a C : A, B object: no leak
//   libc         libc and libstdc++ allocate for themselves (locale, time
//                zone, stdio, getpwuid): never reported
//   disabler     a block leaked under a Disabler: no leak; leaked after it: 1
//   ignore       IgnoreObject'd leak: no leak; UnIgnoreObject again: 1
//   threads      8 busy threads allocate and free while NoLeaks runs, each
//                holding one block in a local: no leak; one of them leaks 1
//   nested       an inner checker's leak is the outer's too
//   samemethods  QuickNoLeaks/BriefNoLeaks/SameHeap/... agree with NoLeaks
//   global       NoGlobalLeaks() sees the leaks of the scenarios above
// Mode "cancel" leaks and calls CancelGlobalCheck(): no check at exit.
#include <gperftools/heap-checker.h>
#include <atomic>
#include <locale.h>
#include <pthread.h>
#include <pwd.h>
#include <string>
#include <time.h>
#include <unistd.h>
#include <vector>
#include "rc_test.h"

static void report(const char *name, HeapLeakChecker &c, bool ok)
{
  printf("%s: NoLeaks=%d objects=%zd bytes=%zd\n", name, ok ? 1 : 0, c.ObjectsLeaked(), c.BytesLeaked());
  fflush(stdout);
}

struct Node { Node *next; char pad[24]; };
RC_NOINLINE void make_cycle()
{
  Node *a = new Node(), *b = new Node();
  a->next = b;
  b->next = a;
}

char *volatile g_interior;
RC_NOINLINE void make_interior() { g_interior = (char *)malloc(64) + 10; }

struct A { virtual ~A() {} long a = 1; };
struct B { virtual ~B() {} long b = 2; };
struct C : A, B { long c = 3; };
B *volatile g_base;
RC_NOINLINE void make_multiple()
{
  C *c = new C();
  g_base = c;   // points sizeof(A) bytes into the object
}

RC_NOINLINE void use_libc()
{
  setlocale(LC_ALL, "C.UTF-8");
  time_t t = 1700000000;
  struct tm tmv;
  localtime_r(&t, &tmv);
  char buf[64];
  strftime(buf, sizeof buf, "%c", &tmv);
  struct passwd *pw = getpwuid(0);
  printf("libc: %s %s\n", pw ? pw->pw_name : "?", tmv.tm_year > 100 ? "ok" : "?");
  std::string s(100, 'x');
  std::vector<int> v(1000, 1);
}

RC_NOINLINE void leak_bytes(size_t n)
{
  void *volatile p = malloc(n);
  p = NULL;
}

static std::atomic<int> stop_threads, started;
static void *busy(void *arg)
{
  long id = (long)arg;
  void *volatile mine = malloc(100 + id);   // held by this live frame
  started++;
  while (!stop_threads.load()) {
    void *volatile tmp = malloc(32);
    free(tmp);
  }
  if (id == 3) leak_bytes(19);              // after the check: not in it
  free(mine);
  return NULL;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "all";
  printf("active: %d\n", HeapLeakChecker::IsActive() ? 1 : 0);
  if (!strcmp(mode, "cancel")) {
    leak_bytes(12);
    HeapLeakChecker::CancelGlobalCheck();
    rc_scrub();
    return 0;
  }
  {
    HeapLeakChecker c("cycle");
    make_cycle();
    rc_scrub();
    report("cycle", c, c.NoLeaks());
  }
  {
    HeapLeakChecker c("interior");
    make_interior();
    rc_scrub();
    report("interior", c, c.NoLeaks());
  }
  {
    HeapLeakChecker c("multiple");
    make_multiple();
    rc_scrub();
    report("multiple", c, c.NoLeaks());
  }
  {
    HeapLeakChecker c("libc");
    use_libc();
    rc_scrub();
    report("libc", c, c.NoLeaks());
  }
  {
    HeapLeakChecker c("disabler");
    {
      HeapLeakChecker::Disabler d;
      leak_bytes(21);
    }
    rc_scrub();
    bool first = c.NoLeaks();
    leak_bytes(22);
    rc_scrub();
    bool second = c.NoLeaks();
    printf("disabler: first=%d second=%d objects=%zd bytes=%zd\n", first, second, c.ObjectsLeaked(), c.BytesLeaked());
  }
  {
    HeapLeakChecker c("ignore");
    int *p = HeapLeakChecker::IgnoreObject(new int[6]);
    void *volatile keep = p;
    p = NULL;
    rc_scrub();
    bool first = c.NoLeaks();
    HeapLeakChecker::UnIgnoreObject((const void *)keep);
    keep = NULL;
    rc_scrub();
    bool second = c.NoLeaks();
    printf("ignore: first=%d second=%d objects=%zd bytes=%zd\n", first, second, c.ObjectsLeaked(), c.BytesLeaked());
  }
  {
    HeapLeakChecker c("threads");
    pthread_t t[8];
    for (long i = 0; i < 8; i++) RC_CHECK(pthread_create(&t[i], NULL, busy, (void *)i) == 0);
    while (started.load() < 8) usleep(1000);
    rc_scrub();
    bool during = c.NoLeaks();
    stop_threads = 1;
    for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
    rc_scrub();
    bool after = c.NoLeaks();
    printf("threads: during=%d after=%d objects=%zd bytes=%zd\n", during, after, c.ObjectsLeaked(), c.BytesLeaked());
  }
  {
    HeapLeakChecker outer("outer");
    bool inner_ok;
    {
      HeapLeakChecker inner("inner");
      leak_bytes(23);
      rc_scrub();
      inner_ok = inner.NoLeaks();
    }
    rc_scrub();
    bool outer_ok = outer.NoLeaks();
    printf("nested: inner=%d outer=%d objects=%zd\n", inner_ok, outer_ok, outer.ObjectsLeaked());
  }
  {
    HeapLeakChecker c("same");
    leak_bytes(24);
    rc_scrub();
    bool r[6] = {c.NoLeaks(), c.QuickNoLeaks(), c.BriefNoLeaks(), c.SameHeap(), c.QuickSameHeap(), c.BriefSameHeap()};
    printf("samemethods: %d%d%d%d%d%d objects=%zd\n", r[0], r[1], r[2], r[3], r[4], r[5], c.ObjectsLeaked());
  }
  rc_scrub();
  printf("global: %d\n", HeapLeakChecker::NoGlobalLeaks() ? 1 : 0);
  return 0;
}
