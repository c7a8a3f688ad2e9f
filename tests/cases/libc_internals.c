/* Allocations glibc makes for itself are reachable and never reported:
 * locales (setlocale, newlocale + uselocale), 40 atexit handlers (the list
 * grows past its static block), time zone data, setenv/putenv (environ is
 * reallocated), getpwuid's buffer, dlerror's message, strerror/strsignal
 * buffers, stdout's buffer, qsort's temporary.
 * Expect direct 1 / 77, indirect 0. */
#include "rc_test.h"
#include <dlfcn.h>
#include <locale.h>
#include <pwd.h>
#include <time.h>

static void nop(void) {}
static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

RC_NOINLINE void use_libc(void)
{
  RC_CHECK(setlocale(LC_ALL, "C.UTF-8") != NULL || setlocale(LC_ALL, "C") != NULL);
  locale_t loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  RC_CHECK(loc != (locale_t)0);
  uselocale(loc);
  loc = (locale_t)0;
  for (int i = 0; i < 40; i++) RC_CHECK(atexit(nop) == 0);
  setenv("TZ", "Europe/Berlin", 1);
  tzset();
  time_t now = time(NULL);
  struct tm tmv;
  RC_CHECK(localtime_r(&now, &tmv) != NULL);
  for (int i = 0; i < 20; i++) {
    char name[32], val[64];
    snprintf(name, sizeof name, "RC_TEST_VAR_%d", i);
    snprintf(val, sizeof val, "value-%d-%s", i, "xxxxxxxxxxxxxxxxxxxxxxxx");
    RC_CHECK(setenv(name, val, 1) == 0);
  }
  char *pe = malloc(32);
  strcpy(pe, "RC_PUTENV=1");
  RC_CHECK(putenv(pe) == 0);   /* the string now belongs to the environment */
  pe = NULL;
  (void)getpwuid(getuid());
  RC_CHECK(dlopen("/nonexistent/libnothing.so", RTLD_NOW) == NULL);
  RC_CHECK(dlerror() != NULL);
  RC_CHECK(dlopen("/nonexistent/libnothing2.so", RTLD_NOW) == NULL);   /* leave a message pending */
  (void)strerror(12345);
  (void)strsignal(77);
  printf("stdout is buffered %d\n", 1);
  enum { N = 300000 };
  int *arr = malloc(N * sizeof *arr);
  for (int i = 0; i < N; i++) arr[i] = (int)(((long)i * 7919) % N);
  qsort(arr, N, sizeof *arr, cmp);
  RC_CHECK(arr[0] == 0 && arr[N - 1] == N - 1);
  free(arr);
}

int main(void)
{
  use_libc();
  rc_leak_known();
  rc_scrub();
  return 0;
}
