/* cmocka with the reachcheck fixtures: test_leaks forgets to free a parsed
 * record and fails with its allocation stack; test_clean passes.
 *   reachcheck -- ./api_cmocka_example */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <reachcheck_cmocka.h>

struct record {
  char *key, *value;
};

__attribute__((noinline)) static struct record *record_parse(const char *line)
{
  struct record *r = malloc(sizeof *r);
  const char *eq = strchr(line, '=');
  r->key = strndup(line, (size_t)(eq - line));
  r->value = strdup(eq + 1);
  return r;
}

__attribute__((noinline)) static void record_free(struct record *r)
{
  free(r->key);
  free(r->value);
  free(r);
}

__attribute__((noinline)) static size_t value_length(const char *line, int free_it)
{
  struct record *r = record_parse(line);
  size_t n = strlen(r->value);
  if (free_it) record_free(r);   /* the leaking path forgets this */
  return n;
}

static void test_leaks(void **state)
{
  (void)state;
  assert_int_equal(5, value_length("name=alice", 0));
}

static void test_clean(void **state)
{
  (void)state;
  assert_int_equal(3, value_length("name=bob", 1));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      RC_CMOCKA_UNIT_TEST(test_leaks),
      RC_CMOCKA_UNIT_TEST(test_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
