/* Suppressions in LeakSanitizer's format: one `leak:PATTERN` per line, '#'
 * comments. PATTERN matches a frame's function, source file or module;
 * '*' matches any run of characters, '^' and '$' anchor, otherwise it is a
 * substring match. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "rc.h"

static struct rc_vec pats;  /* const char * */

static bool glob_at(const char *p, const char *s, bool anchored_end)
{
  for (; *p; p++, s++) {
    if (*p == '*') {
      while (p[1] == '*') p++;
      if (!p[1]) return true;
      for (; *s; s++)
        if (glob_at(p + 1, s, anchored_end)) return true;
      return glob_at(p + 1, s, anchored_end);
    }
    if (*p == '$' && !p[1]) return !*s;
    if (!*s || *p != *s) return false;
  }
  return anchored_end ? !*s : true;
}

bool rc_pattern_match(const char *pat, const char *s)
{
  if (!s || !*s) return false;
  if (*pat == '^') return glob_at(pat + 1, s, false);
  for (; *s; s++)
    if (glob_at(pat, s, false)) return true;
  return false;
}

int rc_suppress_load(const char *path, char *err, size_t errlen)
{
  rc_vec_init(&pats, sizeof(char *));
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
        snprintf(err, errlen, "%s:%d: expected 'leak:PATTERN', got '%.60s'", path, lineno, l);
        return -1;
      }
      const char **slot = rc_vec_push(&pats);
      if (slot) *slot = rc_strdup_internal(l + 5);
    }
    l = nl ? nl + 1 : NULL;
  }
  return 0;
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
