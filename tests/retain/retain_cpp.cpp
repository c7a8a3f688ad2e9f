// C++ root names: a namespace global, a static data member, a static local
// (mangled _ZZ...E5table) and a thread_local static local, demangled.
//   ns::Cache::instance   2 blocks 224 bytes (vector<int>(50))
//   ns::g_registry        2 blocks 104 bytes (vector<long>(10))
//   get_table()::table    1 block  300 bytes
//   tls_stack()::depth    1 block   32 bytes (thread_local, main thread)
// Leaks exactly the known block.
#include "rc_test.h"
#include <vector>

namespace ns {
struct Cache { static std::vector<int> *instance; };
std::vector<int> *Cache::instance;
std::vector<long> *g_registry;
}

RC_NOINLINE void get_table()
{
  static void *table;
  if (!table) table = malloc(300);
}

RC_NOINLINE void tls_stack()
{
  static thread_local void *depth;
  if (!depth) depth = malloc(32);
}

RC_NOINLINE void build()
{
  ns::Cache::instance = new std::vector<int>(50);
  ns::g_registry = new std::vector<long>(10);
  get_table();
  tls_stack();
}

int main()
{
  build();
  rc_leak_known();
  rc_scrub();
  return 0;
}
