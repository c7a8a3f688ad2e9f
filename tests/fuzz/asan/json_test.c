/* The JSON reader under ASan/UBSan: every file of the fuzz corpus, plus
 * documents with known contents and known errors. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_read.h"

static int fails;
#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static struct rj *parse(const char *s, char *err) { return rj_parse(s, strlen(s), "t.json", err, 256); }

int main(int argc, char **argv)
{
  char err[256];
  struct rj *v = parse("{\"a\":[1,2.5,\"0x1f\",true,null],\"b\":{\"c\":-7}}", err);
  EXPECT(v && rj_len(rj_get(v, "a")) == 5 && rj_int(rj_at(rj_get(v, "a"), 0), 0) == 1);
  EXPECT(v && rj_hex(rj_at(rj_get(v, "a"), 2), 0) == 0x1f && rj_int(rj_get(rj_get(v, "b"), "c"), 0) == -7);
  EXPECT(v && rj_get(v, "zz") == NULL && rj_at(v, 99) == NULL && rj_str(rj_get(v, "a"), "d")[0] == 'd');
  rj_free(v);
  v = parse("[1e400, -1e400, 1e30, 123456789012345678901234567890]", err);
  EXPECT(v != NULL);
  for (size_t i = 0; v && i < rj_len(v); i++) (void)rj_int(rj_at(v, i), 0);   /* UBSan: no overflowing cast */
  rj_free(v);
  const char *bad[] = {"", "{", "[1,]", "{\"a\" 1}", "\"\\x\"", "01", "[1] 2", "\"\x01\"", "nul"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    EXPECT(parse(bad[i], err) == NULL);
    EXPECT(!strncmp(err, "t.json:", 7) && !strchr(err, '\n'));
  }
  char deep[5000];
  memset(deep, '[', sizeof deep);
  EXPECT(rj_parse(deep, sizeof deep, "deep", err, sizeof err) == NULL);   /* depth limit, no stack overflow */
  int files = 0;
  DIR *d = argc > 1 ? opendir(argv[1]) : NULL;
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct rj *x = rj_parse(buf, n, e->d_name, err, sizeof err);
    if (x) {
      for (size_t i = 0; i < rj_len(x); i++) (void)rj_int(rj_at(x, i), 0);
      rj_free(x);
    }
    files++;
  }
  if (d) closedir(d);
  if (fails) return 1;
  printf("json: ok (%d corpus files)\n", files);
  return 0;
}
