// (b) C++: exceptions thrown through several frames, comparisons in catch
// blocks and in destructors run during unwinding (landing pads, often in
// .text.unlikely "cold" parts with their own FDEs), inlined templates,
// std::function, virtual calls, std::sort with a comparing comparator.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include "rcu.h"

static volatile int sink;

struct Guard {
  int d;
  explicit Guard(int x) : d(x) {}
  ~Guard() { if (d % 3 == 0) rcu_compare(); }   // runs in a landing pad while unwinding
};

struct Base {
  virtual ~Base() = default;
  virtual int run(int d) = 0;
};
static int dive(int d, int s);
struct A : Base {
  int run(int d) override { std::string s(40 + d, 'x'); return dive(d - 1, (int)s.size()) + s[3]; }
};
struct B : Base {
  int run(int d) override {
    std::vector<int> v(d + 5);
    std::function<int(int)> f = [&](int x) { return dive(x, v.size() ? (int)v.size() : 1); };
    return f(d - 1);
  }
};

template <int N> RCU_NOINLINE int tmpl(int d, int s)
{
  Guard g(d);
  if (d <= 0) {
    rcu_compare();
    if (s % 4 == 0) throw std::runtime_error("deep " + std::to_string(s));
    return 1;
  }
  return tmpl<N - 1>(d - 1, s + N) + 1;
}
template <> RCU_NOINLINE int tmpl<0>(int d, int s) { return dive(d, s); }

static int dive(int d, int s)
{
  if (d <= 0) {
    rcu_compare();
    if ((s & 7) == 1) throw std::out_of_range("leaf");
    return 0;
  }
  std::unique_ptr<Base> b;
  if (s & 1) b.reset(new A);
  else b.reset(new B);
  Guard g(d + s);
  switch (s % 3) {
  case 0: return b->run(d);
  case 1: return tmpl<4>(d - 1, s + 1);
  default: {
    std::map<int, std::string> m;
    for (int i = 0; i < 4; i++) m[i] = std::string(20, 'a' + i);
    return dive(d - 1, s + (int)m.size());
  }
  }
}

static RCU_NOINLINE int catcher(int d, int s)
{
  try {
    return dive(d, s);
  } catch (const std::out_of_range &) {
    rcu_compare();
    return -1;
  } catch (const std::exception &) {
    rcu_compare();
    return -2;
  }
}

int main()
{
  for (int i = 0; i < 600; i++) sink += catcher(1 + i % 30, i);
  std::vector<int> v(3000);
  for (size_t i = 0; i < v.size(); i++) v[i] = (int)((i * 7919) % 1000);
  int calls = 0;
  std::sort(v.begin(), v.end(), [&](int a, int b) {
    if (++calls % 97 == 0) rcu_compare();
    return a < b;
  });
  return rcu_finish("cxx", 1000, 0);
}
