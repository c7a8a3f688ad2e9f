// Leaks of every kind for the SARIF report: each result's location must be
// the line tagged SARIF:<name>, the first allocation frame in this file
// (strdup's frame is in libc, operator new's in libstdc++).
#include <cstdlib>
#include <cstring>
#include "../rc_test.h"

struct node { node *next; char pad[24]; };   // 32 bytes

static RC_NOINLINE void leak_malloc()
{
  void *volatile p = malloc(48);   // SARIF:malloc
  p = nullptr;
}

static RC_NOINLINE void leak_strdup()
{
  char *volatile s = strdup("seventeen chars!");   // SARIF:strdup
  s = nullptr;
}

static RC_NOINLINE void leak_new()
{
  int *volatile v = new int[6];   // SARIF:new
  v = nullptr;
}

static RC_NOINLINE void leak_list()   // a direct head owning an indirect node
{
  node *volatile head = new node;   // SARIF:head
  head->next = new node;            // SARIF:next
  head->next->next = nullptr;
  head = nullptr;
}

static RC_NOINLINE void leak_suppressed_by_file()
{
  void *volatile p = malloc(11);   // SARIF:suppressed
  p = nullptr;
}

int main()
{
  leak_malloc();
  leak_strdup();
  leak_new();
  leak_list();
  leak_suppressed_by_file();
  rc_scrub();
  return 0;
}
