/* The suppression parser and matcher under ASan/UBSan, with the symbolizer
 * and depot stubbed (suppress.c is included for its static pattern list). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../../core/report/suppress.c"

static int fails;
#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static const char *g_fn = "malloc_wrapper", *g_file = "/src/util/alloc.c", *g_mod = "/usr/lib/libfoo.so.1";
static union { struct rc_stack s; char raw[sizeof(struct rc_stack) + sizeof(uintptr_t)]; } g_stack;
const struct rc_stack *rc_depot_get(uint32_t id) { return id ? &g_stack.s : NULL; }
void rc_symbolize(uintptr_t pc, uint32_t gen, struct rc_frame_info *out)
{
  memset(out, 0, sizeof *out);
  out->pc = pc;
  snprintf(out->function, sizeof out->function, "%s", g_fn);
  out->file = g_file;
  out->module = g_mod;
}

static int load(const char *text, char *err)
{
  char path[] = "/tmp/rc_supp_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
  close(fd);
  rc_vec_free(&pats);
  int r = rc_suppress_load(path, err, 256);
  unlink(path);
  return r;
}

int main(void)
{
  char err[256];
  g_stack.s.depth = 1;
  EXPECT(load("# c\n\nleak:^malloc_wrapper$\n", err) == 0 && rc_suppress_match(1) != NULL);
  EXPECT(load("leak:alloc.c\n", err) == 0 && rc_suppress_match(1));
  EXPECT(load("leak:libfoo*\n", err) == 0 && rc_suppress_match(1));
  EXPECT(load("leak:^wrapper\n", err) == 0 && !rc_suppress_match(1));
  EXPECT(load("leak:*w*r*a*p*p*e*r$\n", err) == 0 && rc_suppress_match(1));
  EXPECT(load("  leak:nothing  \r\n", err) == 0 && !rc_suppress_match(1) && !rc_suppress_match(0));
  EXPECT(load("leak:\n", err) == -1 && strstr(err, ":1:"));
  EXPECT(load("leak:a\nfoo:b\n", err) == -1 && strstr(err, ":2:"));
  EXPECT(rc_suppress_load("/nonexistent/supp", err, sizeof err) == -1 && strstr(err, "/nonexistent/supp"));
  EXPECT(rc_pattern_match("a*", "abc") && !rc_pattern_match("^b", "abc") && rc_pattern_match("c$", "abc"));
  EXPECT(!rc_pattern_match("x", "") && !rc_pattern_match("x", NULL));
  /* a long file: more than the 64 KiB read buffer */
  size_t n = 200000;
  char *big = malloc(n + 1);
  for (size_t i = 0; i < n; i++) big[i] = i % 20 == 19 ? '\n' : (i % 20 < 5 ? "leak:"[i % 20] : 'z');
  big[n] = 0;
  EXPECT(load(big, err) == 0);
  free(big);
  rc_vec_free(&pats);
  if (fails) return 1;
  printf("suppress: ok\n");
  return 0;
}
