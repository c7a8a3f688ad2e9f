/* The assertion macros without a test framework (docs/api.md's example).
 * Under `reachcheck -- ./api_scope_example` the scope check fails in
 * cache_reload (abort() by the default hook) with the leaked entry's
 * allocation stack. Plain, it says the runtime is not loaded. */
#include <stdlib.h>
#include <string.h>
#include <reachcheck.h>

struct entry {
  struct entry *next;
  char name[24];
};
static struct entry *cache;

__attribute__((noinline)) static void cache_put(const char *name)
{
  struct entry *e = calloc(1, sizeof *e);
  strncpy(e->name, name, sizeof e->name - 1);
  e->next = cache;
  cache = e;
}

/* Bug: drops the list without freeing it. */
__attribute__((noinline)) static void cache_reload(void)
{
  cache = NULL;
  cache_put("fresh");
}

int main(void)
{
  cache_put("a");
  RC_ASSERT_REACHABLE(cache);   /* the global keeps it */

  RC_LEAK_SCOPE_BEGIN();
  cache_put("b");
  cache_reload();
  RC_ASSERT_NO_LEAKS_IN_SCOPE();   /* fails: "b" (and "a" is not in the scope) */
  return 0;
}
