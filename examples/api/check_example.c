/* Check with the reachcheck fixture: test_leaks forgets to free a buffer
 * list and fails with its allocation stack; test_clean passes.
 *   reachcheck -- ./api_check_example */
#include <stdlib.h>
#include <string.h>
#include <check.h>
#include <reachcheck_check.h>

struct chunk {
  struct chunk *next;
  char data[40];
};

__attribute__((noinline)) static struct chunk *chunks_make(int n)
{
  struct chunk *head = NULL;
  for (int i = 0; i < n; i++) {
    struct chunk *c = calloc(1, sizeof *c);
    c->next = head;
    head = c;
  }
  return head;
}

__attribute__((noinline)) static int chunks_count(int n, int free_them)
{
  struct chunk *head = chunks_make(n);
  int k = 0;
  for (struct chunk *c = head; c; c = c->next) k++;
  while (free_them && head) {   /* the leaking path forgets this */
    struct chunk *next = head->next;
    free(head);
    head = next;
  }
  return k;
}

START_TEST(test_leaks) { ck_assert_int_eq(3, chunks_count(3, 0)); }
END_TEST

START_TEST(test_clean) { ck_assert_int_eq(2, chunks_count(2, 1)); }
END_TEST

int main(void)
{
  Suite *s = suite_create("reachcheck_example");
  TCase *tc = tcase_create("chunks");
  reachcheck_check_add_fixture(tc);
  tcase_add_test(tc, test_leaks);
  tcase_add_test(tc, test_clean);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
