/* Query strings of the endpoint's requests (?debug=1&seconds=5): the one
 * parser the request handlers share; hostile input gets -2, never a crash. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "profile/profile.h"

/* Value of key in a query string, percent-decoded into out; false if absent. */
bool rc_query_get(const char *q, const char *key, char *out, size_t n)
{
  size_t kl = strlen(key);
  for (const char *p = q; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t seg = amp ? (size_t)(amp - p) : strlen(p);
    if (seg >= kl && !strncmp(p, key, kl) && (seg == kl || p[kl] == '=')) {
      const char *v = seg == kl ? p + seg : p + kl + 1;
      size_t o = 0;
      for (const char *s = v; s < p + seg && o + 1 < n; s++) {
        if (*s == '%' && s + 2 < p + seg + 1 && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
          char hex[3] = {s[1], s[2], 0};
          out[o++] = (char)strtol(hex, NULL, 16);
          s += 2;
        } else {
          out[o++] = *s == '+' ? ' ' : *s;
        }
      }
      out[o] = 0;
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return false;
}

/* A small non-negative integer parameter; -1 absent, -2 malformed. */
long rc_query_num(const char *q, const char *key, long max)
{
  char v[32];
  if (!rc_query_get(q, key, v, sizeof v)) return -1;
  if (!v[0]) return 1;   /* ?debug alone, as Go reads it: not 0 */
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (*end || errno || x < 0 || x > max || !isdigit((unsigned char)v[0])) return -2;
  return x;
}

