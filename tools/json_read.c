/* JSON reader of the offline tools: recursive descent over the whole text
 * (depth-limited), RFC 8259 syntax exactly, and the first error as one line
 * naming the file, line and column and what was expected. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_read.h"

#define MAX_DEPTH 512

struct parser {
  const char *s, *end, *p;
  const char *name;
  char *err;
  size_t errlen;
  bool failed;
  int depth;
};

static void fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct parser *ps, const char *fmt, ...)
{
  if (ps->failed) return;
  ps->failed = true;
  int line = 1, col = 1;
  for (const char *c = ps->s; c < ps->p && c < ps->end; c++) {
    if (*c == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(ps->err, ps->errlen, "%s:%d:%d: malformed JSON: %s", ps->name, line, col, what);
}

static void skip_ws(struct parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static const char *describe(struct parser *ps)
{
  static char buf[32];
  if (ps->p >= ps->end) return "end of input";
  unsigned char c = (unsigned char)*ps->p;
  if (c >= 0x20 && c < 0x7f) snprintf(buf, sizeof buf, "'%c'", c);
  else snprintf(buf, sizeof buf, "byte 0x%02x", c);
  return buf;
}

/* Its own (not tool_common.c's): the fuzzers build the reader alone. */
static void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "reachcheck: out of memory\n");
    exit(2);
  }
  return q;
}

static bool parse_value(struct parser *ps, struct rj *out);

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool read_u4(struct parser *ps, unsigned *u)
{
  if (ps->end - ps->p < 4) {
    fail(ps, "truncated \\u escape");
    return false;
  }
  *u = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(ps->p[i]);
    if (h < 0) {
      fail(ps, "bad \\u escape (want 4 hex digits)");
      return false;
    }
    *u = *u * 16 + (unsigned)h;
  }
  ps->p += 4;
  return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
  if (cp < 0x80) { o[0] = (char)cp; return 1; }
  if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12);
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18);
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
  o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* After a backslash in a string: one escape decoded at *w (which moves on).
 * 6 bytes of text ("\uXXXX") always hold the 1-4 bytes of UTF-8. */
static bool parse_escape(struct parser *ps, char **w)
{
  char e = *ps->p++;
  switch (e) {
  case '"': *(*w)++ = '"'; return true;
  case '\\': *(*w)++ = '\\'; return true;
  case '/': *(*w)++ = '/'; return true;
  case 'b': *(*w)++ = '\b'; return true;
  case 'f': *(*w)++ = '\f'; return true;
  case 'n': *(*w)++ = '\n'; return true;
  case 'r': *(*w)++ = '\r'; return true;
  case 't': *(*w)++ = '\t'; return true;
  case 'u': {
    unsigned cp;
    if (!read_u4(ps, &cp)) return false;
    if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
      unsigned lo;
      ps->p += 2;
      if (!read_u4(ps, &lo)) return false;
      if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      else *w += put_utf8(*w, 0xfffd), cp = lo;
    }
    *w += put_utf8(*w, cp);
    return true;
  }
  default:
    ps->p--;
    fail(ps, "bad escape '\\%c' in a string", e);
    return false;
  }
}

/* At the opening quote. The decoded string is never longer than the text. */
static bool parse_string(struct parser *ps, char **out, size_t *outlen)
{
  const char *start = ++ps->p;
  const char *q = start;
  while (q < ps->end && *q != '"') q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
  if (q >= ps->end) {
    fail(ps, "unterminated string");
    return false;
  }
  char *o = xrealloc(NULL, (size_t)(q - start) + 1), *w = o;
  while (ps->p < ps->end && *ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    if (c < 0x20) {
      fail(ps, "control character 0x%02x in a string (escape it)", c);
      free(o);
      return false;
    }
    ps->p++;
    if (c != '\\') {
      *w++ = (char)c;
    } else if (!parse_escape(ps, &w)) {
      free(o);
      return false;
    }
  }
  ps->p++;   /* closing quote */
  *w = 0;
  *out = o;
  *outlen = (size_t)(w - o);
  return true;
}

static bool parse_number(struct parser *ps, struct rj *out)
{
  const char *b = ps->p, *p = ps->p;
  if (p < ps->end && *p == '-') p++;
  if (p >= ps->end || *p < '0' || *p > '9') {
    ps->p = p;
    fail(ps, "expected a digit");
    return false;
  }
  if (*p == '0') p++;
  else while (p < ps->end && *p >= '0' && *p <= '9') p++;
  bool integral = true;
  if (p < ps->end && *p == '.') {
    integral = false;
    p++;
    if (p >= ps->end || *p < '0' || *p > '9') {
      ps->p = p;
      fail(ps, "expected a digit after '.'");
      return false;
    }
    while (p < ps->end && *p >= '0' && *p <= '9') p++;
  }
  if (p < ps->end && (*p == 'e' || *p == 'E')) {
    integral = false;
    p++;
    if (p < ps->end && (*p == '+' || *p == '-')) p++;
    if (p >= ps->end || *p < '0' || *p > '9') {
      ps->p = p;
      fail(ps, "expected a digit in the exponent");
      return false;
    }
    while (p < ps->end && *p >= '0' && *p <= '9') p++;
  }
  char buf[64];
  size_t n = (size_t)(p - b);
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, b, n);
  buf[n] = 0;
  out->type = RJ_NUM;
  out->num = strtod(buf, NULL);
  if (integral) {
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    if (!errno) {
      out->is_int = true;
      out->ival = v;
    }
  }
  ps->p = p;
  return true;
}

static bool literal(struct parser *ps, const char *word)
{
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n)) {
    fail(ps, "expected '%s'", word);
    return false;
  }
  ps->p += n;
  return true;
}

static bool parse_container(struct parser *ps, struct rj *out, bool obj)
{
  if (++ps->depth > MAX_DEPTH) {
    fail(ps, "nested deeper than %d levels", MAX_DEPTH);
    return false;
  }
  ps->p++;
  out->type = obj ? RJ_OBJ : RJ_ARR;
  size_t cap = 0;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
    ps->p++;
    ps->depth--;
    return true;
  }
  for (;;) {
    if (out->n == cap) {
      cap = cap ? cap * 2 : 4;
      out->items = xrealloc(out->items, cap * sizeof *out->items);
      if (obj) out->keys = xrealloc(out->keys, cap * sizeof *out->keys);
    }
    skip_ws(ps);
    if (obj) {
      if (ps->p >= ps->end || *ps->p != '"') {
        fail(ps, "expected a member name (a string) in an object, found %s", describe(ps));
        return false;
      }
      size_t kl;
      if (!parse_string(ps, &out->keys[out->n], &kl)) return false;
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        free(out->keys[out->n]);
        fail(ps, "expected ':' after a member name, found %s", describe(ps));
        return false;
      }
      ps->p++;
    }
    memset(&out->items[out->n], 0, sizeof out->items[out->n]);
    bool ok = parse_value(ps, &out->items[out->n]);
    out->n++;   /* counted even on failure, so rj_free releases it */
    if (!ok) return false;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
      ps->p++;
      ps->depth--;
      return true;
    }
    fail(ps, obj ? "expected ',' or '}' after an object member, found %s"
                 : "expected ',' or ']' after an array element, found %s", describe(ps));
    return false;
  }
}

static bool parse_value(struct parser *ps, struct rj *out)
{
  skip_ws(ps);
  if (ps->p >= ps->end) {
    fail(ps, "expected a value, found end of input");
    return false;
  }
  switch (*ps->p) {
  case '{': return parse_container(ps, out, true);
  case '[': return parse_container(ps, out, false);
  case '"':
    out->type = RJ_STR;
    return parse_string(ps, &out->str, &out->len);
  case 't': out->type = RJ_BOOL; out->b = true; return literal(ps, "true");
  case 'f': out->type = RJ_BOOL; return literal(ps, "false");
  case 'n': out->type = RJ_NULL; return literal(ps, "null");
  default:
    if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, out);
    fail(ps, "expected a value, found %s", describe(ps));
    return false;
  }
}

static void free_inner(struct rj *v)
{
  if (v->type == RJ_STR) free(v->str);
  if (v->type == RJ_ARR || v->type == RJ_OBJ) {
    for (size_t i = 0; i < v->n; i++) {
      free_inner(&v->items[i]);
      if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  }
}

void rj_free(struct rj *v)
{
  if (!v) return;
  free_inner(v);
  free(v);
}

struct rj *rj_parse(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
  struct parser ps = {text, text + len, text, name, err, errlen, false, 0};
  struct rj *v = calloc(1, sizeof *v);
  if (!v) {
    snprintf(err, errlen, "%s: out of memory", name);
    return NULL;
  }
  skip_ws(&ps);
  if (ps.p >= ps.end) fail(&ps, "the file is empty");
  else if (parse_value(&ps, v)) {
    skip_ws(&ps);
    if (ps.p < ps.end) fail(&ps, "unexpected %s after the end of the document", describe(&ps));
  }
  if (ps.failed) {
    rj_free(v);
    return NULL;
  }
  return v;
}

const struct rj *rj_get(const struct rj *o, const char *key)
{
  if (!o || o->type != RJ_OBJ) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], key)) return &o->items[i];
  return NULL;
}

const struct rj *rj_at(const struct rj *a, size_t i)
{
  return a && (a->type == RJ_ARR || a->type == RJ_OBJ) && i < a->n ? &a->items[i] : NULL;
}

size_t rj_len(const struct rj *a) { return a && (a->type == RJ_ARR || a->type == RJ_OBJ) ? a->n : 0; }

long long rj_int(const struct rj *v, long long def)
{
  if (!v || v->type != RJ_NUM) return def;
  if (v->is_int) return v->ival;
  /* NaN or out of range: converting it to long long is undefined (UBSan) */
  if (!(v->num > -9223372036854775808.0 && v->num < 9223372036854775808.0)) return def;
  return (long long)v->num;
}

unsigned long long rj_hex(const struct rj *v, unsigned long long def)
{
  if (v && v->type == RJ_NUM) return (unsigned long long)rj_int(v, (long long)def);
  if (!v || v->type != RJ_STR) return def;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v->str, &end, 0);
  return errno || *end ? def : x;
}

const char *rj_str(const struct rj *v, const char *def) { return v && v->type == RJ_STR ? v->str : def; }
