// A C++ program that leans on libstdc++: containers, strings, iostreams,
// exceptions, smart pointers, std::function, regex and threads. Its output is
// deterministic; it leaks exactly one std::string (32-byte object, 40-byte
// buffer) from a noinline helper, so every checker must find 1 direct and
// 1 indirect block.
#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>
#include "rc_test.h"

namespace {

struct Node {
  std::string name;
  std::vector<std::shared_ptr<Node>> kids;
  std::weak_ptr<Node> parent;
  explicit Node(std::string n) : name(std::move(n)) {}
};

std::shared_ptr<Node> build_tree(int depth, const std::string &prefix)
{
  auto n = std::make_shared<Node>(prefix);
  if (depth > 0)
    for (int i = 0; i < 3; i++) {
      auto k = build_tree(depth - 1, prefix + "." + std::to_string(i));
      k->parent = n;
      n->kids.push_back(std::move(k));
    }
  return n;
}

size_t count_nodes(const Node &n)
{
  size_t c = 1;
  for (const auto &k : n.kids) c += count_nodes(*k);
  return c;
}

int parse_or_throw(const std::string &s)
{
  size_t pos = 0;
  int v = std::stoi(s, &pos);
  if (pos != s.size()) throw std::invalid_argument("trailing junk in '" + s + "'");
  return v;
}

}  // namespace

// The one deliberate leak: the pointer never leaves this frame.
RC_NOINLINE void leak_one_string()
{
  std::string *volatile p = new std::string("this string is leaked on purpose: 40 ch");
  rc_barrier(p);
  p = nullptr;
}

int main()
{
  std::ostringstream out;

  // containers
  std::map<std::string, std::vector<int>> m;
  std::unordered_map<int, std::string> um;
  std::list<std::string> l;
  std::deque<double> dq;
  std::set<long> st;
  for (int i = 0; i < 20000; i++) {
    m["key" + std::to_string(i % 97)].push_back(i);
    um[i] = std::string(static_cast<size_t>(i % 50), 'a' + static_cast<char>(i % 26));
    if (i % 3 == 0) l.push_back(um[i]);
    dq.push_front(i * 0.5);
    st.insert(static_cast<long>(i) * 7919 % 10007);
  }
  for (int i = 0; i < 20000; i += 2) um.erase(i);
  l.sort();
  l.unique();
  out << "map " << m.size() << " um " << um.size() << " list " << l.size() << " deque "
      << std::accumulate(dq.begin(), dq.end(), 0.0) << " set " << st.size() << "\n";

  // strings and algorithms
  std::vector<std::string> words;
  std::istringstream text("the quick brown fox jumps over the lazy dog and the cat");
  for (std::string w; text >> w;) words.push_back(w);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::string joined;
  for (const auto &w : words) joined += (joined.empty() ? "" : ",") + w;
  out << joined << "\n";

  // exceptions
  int ok = 0, bad = 0;
  for (const char *s : {"12", "7x", "-3", "", "99999999999", "42"}) {
    try {
      ok += parse_or_throw(s);
    } catch (const std::invalid_argument &e) {
      bad++;
    } catch (const std::out_of_range &e) {
      bad += 10;
    }
  }
  out << "ok " << ok << " bad " << bad << "\n";

  // smart pointers and a tree with weak parents
  auto root = build_tree(5, "r");
  out << "tree " << count_nodes(*root) << "\n";

  // std::function and regex
  std::vector<std::function<int(int)>> fns;
  for (int k = 1; k <= 5; k++) fns.push_back([k](int x) { return x * k + k; });
  int acc = 0;
  for (auto &f : fns) acc = f(acc);
  std::regex re("([a-z]+)([0-9]+)");
  std::string subject = "abc123 def456 ghi789 x1";
  int matches = 0;
  for (std::sregex_iterator it(subject.begin(), subject.end(), re), end; it != end; ++it) matches++;
  out << "fn " << acc << " regex " << matches << " " << std::regex_replace(subject, re, "$2$1") << "\n";

  // threads sharing a map under a mutex
  std::mutex mu;
  std::map<int, int> shared;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([t, &mu, &shared] {
      for (int i = 0; i < 5000; i++) {
        auto v = std::make_unique<std::vector<int>>(static_cast<size_t>(i % 16), t);
        std::lock_guard<std::mutex> g(mu);
        shared[i % 1000] += static_cast<int>(v->size());
      }
    });
  for (auto &t : ts) t.join();
  long total = 0;
  for (const auto &kv : shared) total += kv.second;
  out << "threads " << shared.size() << " " << total << "\n";

  leak_one_string();
  std::cout << out.str();
  std::cout.flush();
  rc_scrub();
  return 0;
}
