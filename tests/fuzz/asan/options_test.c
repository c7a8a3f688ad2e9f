/* The option parser under ASan/UBSan: valid strings set the fields, every
 * invalid one is rejected with one line naming the key. */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "base/base.h"

static int fails;
#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static int parse(const char *s, char *err)
{
  memset(err, 'x', 512);
  return rc_options_parse(s, err, 512);
}

int main(void)
{
  char err[512];
  EXPECT(parse("json=/tmp/r.%p.json:exitcode=0:stack_depth=64", err) == 0);
  EXPECT(!strcmp(rc_opt.json, "/tmp/r.%p.json") && rc_opt.exitcode == 0 && rc_opt.stack_depth == 64);
  EXPECT(parse("", err) == 0 && parse(NULL, err) == 0 && parse(":::", err) == 0);
  EXPECT(parse("unaligned=1:report=0", err) == 0 && rc_opt.unaligned == 1 && rc_opt.report == 0);
  const char *bad[] = {"exitcode=256", "exitcode=-1", "stack_depth=0", "stack_depth=65", "unaligned=2",
                       "unaligned=", "exitcode=12abc", "exitcode=99999999999999999999", "nope=1", "exitcode",
                       "stop_signal=9", "=1", "report=1:bogus=2", "ex\nitcode=1", "exitcode=1\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    EXPECT(parse(bad[i], err) == -1);
    EXPECT(memchr(err, 0, sizeof err) != NULL && strchr(err, '\n') == NULL);
  }
  EXPECT(parse("nope=1", err) == -1 && strstr(err, "nope"));
  /* a value as long as the parser allows, and longer */
  static char longv[6000];
  memcpy(longv, "json=", 5);
  memset(longv + 5, 'a', sizeof longv - 6);
  EXPECT(parse(longv, err) == -1);
  longv[4000] = 0;
  EXPECT(parse(longv, err) == 0 && strlen(rc_opt.json) == 3995);
  EXPECT(rc_option_known("json", 4) && !rc_option_known("jso", 3) && !rc_option_known("", 0));
  rc_options_help(1);
  rc_options_markdown(1);
  if (fails) return 1;
  printf("options: ok\n");
  return 0;
}
