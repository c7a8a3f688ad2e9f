// C++ allocation: new, new[] with a destructor cookie, aligned and nothrow
// new, std containers, exceptions.
//  kept (reachable): g_objs = new Obj[5]   (the only pointer is 8 bytes into
//                    the block, past the array cookie), map, string,
//                    unordered_map, vector, aligned new
//  leaked: new int (4) ; new Obj[3] (8 + 3*16 = 56) ;
//          new std::vector<int>(100): object 24 direct + buffer 400 indirect ;
//          new std::string(20 chars): object 32 direct + buffer 21 indirect
// Expect direct 4 blocks / 116 bytes, indirect 2 blocks / 421 bytes.
#include "rc_test.h"
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

struct Obj {
  long a = 1, b = 2;
  ~Obj() { a = 0; }
};
struct alignas(64) Wide { char c[64]; };

Obj *g_objs;
std::map<int, std::string> *g_map;
std::string g_str;
std::unordered_map<std::string, int> g_umap;
std::vector<std::string> g_vec;
Wide *g_wide;

RC_NOINLINE void keep()
{
  g_objs = new Obj[5];
  g_map = new std::map<int, std::string>;
  for (int i = 0; i < 10; i++) (*g_map)[i] = std::string(30, char('a' + i));
  g_str = "a string that is too long for the small string buffer";
  for (int i = 0; i < 50; i++) g_umap["key number " + std::to_string(i * 1000000)] = i;
  for (int i = 0; i < 20; i++) g_vec.push_back(std::string(40, 'x'));
  g_wide = new Wide;
  RC_CHECK((reinterpret_cast<uintptr_t>(g_wide) & 63) == 0);
}

RC_NOINLINE void balanced()
{
  for (int i = 0; i < 100; i++) {
    int *p = new int(i);
    delete p;
    Obj *a = new Obj[i + 1];
    delete[] a;
    Wide *w = new Wide[3];
    delete[] w;
    char *n = new (std::nothrow) char[i + 10];
    delete[] n;
    try {
      throw std::runtime_error(std::string(100, 'e'));
    } catch (const std::exception &e) {
      RC_CHECK(e.what()[0] == 'e');
    }
  }
}

RC_NOINLINE void leak_int() { int *volatile p = new int(42); rc_barrier(p); p = nullptr; }
RC_NOINLINE void leak_array() { Obj *volatile p = new Obj[3]; rc_barrier(p); p = nullptr; }
RC_NOINLINE void leak_vector() { std::vector<int> *volatile v = new std::vector<int>(100); rc_barrier(v); v = nullptr; }
RC_NOINLINE void leak_string() { std::string *volatile s = new std::string("0123456789abcdefghij"); rc_barrier(s); s = nullptr; }

int main()
{
  static_assert(sizeof(Obj) == 16, "Obj");
  static_assert(sizeof(std::vector<int>) == 24, "vector");
  static_assert(sizeof(std::string) == 32, "string");
  balanced();
  keep();
  leak_int();
  leak_array();
  leak_vector();
  leak_string();
  rc_scrub();
  return 0;
}
