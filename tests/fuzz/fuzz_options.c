/* libFuzzer target: the option parser (core/base/options.c, rc_options_parse),
 * fed as REACHCHECK_OPTIONS is. Invariants: it never crashes, an error is
 * one NUL-terminated line, and every accepted value is within its range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  char err[512];
  memset(err, 'x', sizeof err);
  int r = rc_options_parse(s, err, sizeof err);
  if (r != 0 && r != -1) abort();
  if (r == -1) {
    if (!memchr(err, 0, sizeof err) || strchr(err, '\n')) abort();   /* one line, terminated */
  } else {
    if (rc_opt.stack_depth < 1 || rc_opt.stack_depth > RC_MAX_FRAMES) abort();
    if (rc_opt.exitcode < 0 || rc_opt.exitcode > 255) abort();
    if (rc_opt.report != 0 && rc_opt.report != 1) abort();
    if (!rc_opt.json || !rc_opt.suppressions) abort();
  }
  /* every key the parser accepts is known, and lookups never overread */
  const char *eq = memchr(s, '=', size);
  if (eq) (void)rc_option_known(s, (size_t)(eq - s));
  free(s);
  return 0;
}
