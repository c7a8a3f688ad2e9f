/* Suppressions in LeakSanitizer's format: one `leak:PATTERN` per line, '#'
 * comments. PATTERN matches a frame's function, source file or module;
 * '*' matches any run of characters, '^' and '$' anchor, otherwise it is a
 * substring match. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "report/report.h"

static struct rc_vec pats;  /* const char * */

/* The pattern as a whole-string glob: a '*' in front unless it starts with
 * '^', a '*' behind unless it ends with '$'. */
struct glob { const char *p; size_t n; bool lead, trail; };

static char glob_char(const struct glob *g, size_t i)
{
  if (g->lead) {
    if (i == 0) return '*';
    i--;
  }
  return i < g->n ? g->p[i] : '*';
}

/* Iterative wildcard match with one backtrack point: O(pattern x string),
 * never exponential (a fuzzer found `a*a*a*...b` with a recursive matcher). */
bool rc_pattern_match(const char *pat, const char *s)
{
  if (!s || !*s || !pat) return false;
  struct glob g = {pat, strlen(pat), true, true};
  if (g.n && g.p[0] == '^') g.p++, g.n--, g.lead = false;
  if (g.n && g.p[g.n - 1] == '$') g.n--, g.trail = false;
  size_t plen = g.n + g.lead + g.trail, slen = strlen(s);
  size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
  while (si < slen) {
    char c = pi < plen ? glob_char(&g, pi) : 0;
    if (pi < plen && c == '*') {
      star = pi++;
      mark = si;
    } else if (pi < plen && c == s[si]) {
      pi++;
      si++;
    } else if (star != SIZE_MAX) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < plen && glob_char(&g, pi) == '*') pi++;
  return pi == plen;
}

/* Lines of buf (modified) into the pattern list; `name` for messages. */
static int parse(char *buf, const char *name, char *err, size_t errlen)
{
  if (!pats.elem) rc_vec_init(&pats, sizeof(char *));
  int lineno = 0;
  for (char *l = buf; l && *l;) {
    char *nl = strchr(l, '\n');
    if (nl) *nl = 0;
    lineno++;
    while (*l == ' ' || *l == '\t') l++;
    size_t len = strlen(l);
    while (len && (l[len - 1] == ' ' || l[len - 1] == '\t' || l[len - 1] == '\r')) l[--len] = 0;
    if (*l && *l != '#') {
      if (strncmp(l, "leak:", 5) || !l[5]) {
        snprintf(err, errlen, "%s:%d: expected 'leak:PATTERN', got '%.60s'", name, lineno, l);
        return -1;
      }
      const char **slot = rc_vec_push(&pats);
      if (slot) *slot = rc_strdup_internal(l + 5);
    }
    l = nl ? nl + 1 : NULL;
  }
  return 0;
}

int rc_suppress_load(const char *path, char *err, size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot open suppressions file '%s'", path);
    return -1;
  }
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    snprintf(err, errlen, "cannot read suppressions file '%s'", path);
    return -1;
  }
  buf[n] = 0;
  return parse(buf, path, err, errlen);
}

/* Suppressions given as text (__lsan_default_suppressions), added to the
 * file's. */
int rc_suppress_add_text(const char *text, const char *name, char *err, size_t errlen)
{
  char buf[65536];
  snprintf(buf, sizeof buf, "%s", text);
  return parse(buf, name, err, errlen);
}

const char *rc_suppress_match(uint32_t stack)
{
  if (!pats.len) return NULL;
  const struct rc_stack *s = rc_depot_get(stack);
  if (!s) return NULL;
  for (uint32_t i = 0; i < s->depth; i++) {
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    for (size_t k = 0; k < pats.len; k++) {
      const char *p = ((const char **)pats.data)[k];
      if (rc_pattern_match(p, fi.function) || rc_pattern_match(p, fi.file) || rc_pattern_match(p, fi.module))
        return p;
    }
  }
  return NULL;
}
