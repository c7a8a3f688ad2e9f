/* Decoding gzip'ed profile.proto (see pprof_read.h). The protobuf reader is
 * as small as the writer (core/profile/pprof_write.c): varints and
 * length-delimited fields, unknown fields skipped, every length checked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <unistd.h>
#include "pprof_read.h"
#include "base/pprof.h"
#include "tool_common.h"

#define MAX_PROFILE (1u << 30)   /* decompressed */

struct rd { const uint8_t *p, *end; bool bad; };

static uint64_t rd_varint(struct rd *r)
{
  uint64_t v = 0;
  for (int s = 0; s < 64; s += 7) {
    if (r->p >= r->end) break;
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) return v;
  }
  r->bad = true;
  return 0;
}

/* Next field: its number and wire type, and for length-delimited fields
 * the sub-reader; false at the end or on malformed input. */
static bool rd_field(struct rd *r, int *field, int *wire, uint64_t *val, struct rd *sub)
{
  if (r->p >= r->end || r->bad) return false;
  uint64_t tag = rd_varint(r);
  *field = (int)(tag >> 3);
  *wire = (int)(tag & 7);
  switch (*wire) {
  case 0: *val = rd_varint(r); break;
  case 1:
    if (r->end - r->p < 8) r->bad = true;
    else memcpy(val, r->p, 8), r->p += 8;
    break;
  case 5:
    if (r->end - r->p < 4) r->bad = true;
    else {
      uint32_t x;
      memcpy(&x, r->p, 4);
      *val = x;
      r->p += 4;
    }
    break;
  case 2: {
    uint64_t n = rd_varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
      r->bad = true;
      break;
    }
    sub->p = r->p;
    sub->end = r->p + n;
    sub->bad = false;
    r->p += n;
    break;
  }
  default: r->bad = true;
  }
  return !r->bad;
}

#define PUSH(arr, n, x)                                              \
  do {                                                               \
    if (((n) & ((n) - 1)) == 0) (arr) = txrealloc((arr), sizeof *(arr) * ((n) ? 2 * (n) : 1)); \
    (arr)[(n)++] = (x);                                              \
  } while (0)

/* A repeated integer field: packed (wire 2) or one value (wire 0). */
static void rd_ints(struct rd *r, int wire, uint64_t val, struct rd *sub, uint64_t **arr, size_t *n)
{
  if (wire == 0) {
    PUSH(*arr, *n, val);
    return;
  }
  if (wire != 2) {
    r->bad = true;
    return;
  }
  while (sub->p < sub->end && !sub->bad) PUSH(*arr, *n, rd_varint(sub));
  if (sub->bad) r->bad = true;
}

static int decode(const uint8_t *d, size_t n, struct pr_profile *p)
{
  struct rd r = {d, d + n, false}, s = {NULL, NULL, false};
  int f, w;
  uint64_t v = 0;
  while (rd_field(&r, &f, &w, &v, &s)) {
    if (f == 1 && w == 2) {
      struct pr_type t = {0, 0};
      struct rd x;
      int g, ww;
      uint64_t u = 0;
      while (rd_field(&s, &g, &ww, &u, &x))
        if (ww == 0 && g == 1) t.type = (int64_t)u;
        else if (ww == 0 && g == 2) t.unit = (int64_t)u;
      PUSH(p->types, p->ntypes, t);
    } else if (f == 2 && w == 2) {
      struct pr_sample sm;
      memset(&sm, 0, sizeof sm);
      struct rd x;
      int g, ww;
      uint64_t u = 0;
      while (rd_field(&s, &g, &ww, &u, &x)) {
        if (g == 1) rd_ints(&s, ww, u, &x, &sm.locs, &sm.nlocs);
        else if (g == 2) rd_ints(&s, ww, u, &x, (uint64_t **)&sm.values, &sm.nvalues);
        else if (g == 3 && ww == 2) {
          struct pr_label l = {0, 0, 0};
          struct rd y;
          int h, www;
          uint64_t z = 0;
          while (rd_field(&x, &h, &www, &z, &y))
            if (www == 0) {
              if (h == 1) l.key = (int64_t)z;
              else if (h == 2) l.str = (int64_t)z;
              else if (h == 3) l.num = (int64_t)z;
            }
          PUSH(sm.labels, sm.nlabels, l);
        }
      }
      PUSH(p->samples, p->nsamples, sm);
    } else if (f == 4 && w == 2) {
      struct pr_location l;
      memset(&l, 0, sizeof l);
      struct rd x;
      int g, ww;
      uint64_t u = 0;
      while (rd_field(&s, &g, &ww, &u, &x)) {
        if (g == 1 && ww == 0) l.id = u;
        else if (g == 2 && ww == 0) l.mapping = u;
        else if (g == 3 && ww == 0) l.address = u;
        else if (g == 4 && ww == 2) {
          struct pr_line ln = {0, 0};
          struct rd y;
          int h, www;
          uint64_t z = 0;
          while (rd_field(&x, &h, &www, &z, &y))
            if (www == 0) {
              if (h == 1) ln.function = z;
              else if (h == 2) ln.line = (int64_t)z;
            }
          PUSH(l.lines, l.nlines, ln);
        }
      }
      PUSH(p->locs, p->nlocs, l);
    } else if (f == 5 && w == 2) {
      struct pr_function fn;
      memset(&fn, 0, sizeof fn);
      struct rd x;
      int g, ww;
      uint64_t u = 0;
      while (rd_field(&s, &g, &ww, &u, &x))
        if (ww == 0) {
          if (g == 1) fn.id = u;
          else if (g == 2) fn.name = (int64_t)u;
          else if (g == 3) fn.system_name = (int64_t)u;
          else if (g == 4) fn.filename = (int64_t)u;
          else if (g == 5) fn.start_line = (int64_t)u;
        }
      PUSH(p->funcs, p->nfuncs, fn);
    } else if (f == 6 && w == 2) {
      char *str = txmalloc((size_t)(s.end - s.p) + 1);
      memcpy(str, s.p, (size_t)(s.end - s.p));
      str[s.end - s.p] = 0;
      PUSH(p->strs, p->nstrs, str);
    } else if (f == 13) {
      rd_ints(&r, w, v, &s, (uint64_t **)&p->comments, &p->ncomments);
    } else if (w == 0) {
      if (f == 9) p->time_nanos = (int64_t)v;
      else if (f == 10) p->duration_nanos = (int64_t)v;
      else if (f == 14) p->default_type = (int64_t)v;
    }
    if (s.bad) r.bad = true;
  }
  return r.bad ? -1 : 0;
}

static int cmp_loc(const void *a, const void *b)
{
  const struct pr_location *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}
static int cmp_fn(const void *a, const void *b)
{
  const struct pr_function *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

const char *pr_str(const struct pr_profile *p, int64_t i) { return i >= 0 && (size_t)i < p->nstrs ? p->strs[i] : ""; }

const struct pr_location *pr_loc(const struct pr_profile *p, uint64_t id)
{
  struct pr_location k = {.id = id};
  return p->nlocs ? bsearch(&k, p->locs, p->nlocs, sizeof k, cmp_loc) : NULL;
}

const struct pr_function *pr_func(const struct pr_profile *p, uint64_t id)
{
  struct pr_function k = {.id = id};
  return p->nfuncs ? bsearch(&k, p->funcs, p->nfuncs, sizeof k, cmp_fn) : NULL;
}

int pr_type_index(const struct pr_profile *p, const char *name)
{
  if (!p->ntypes) return -1;
  if (!name || !*name) {
    for (size_t i = 0; i < p->ntypes; i++)
      if (p->default_type && p->types[i].type == p->default_type) return (int)i;
    return (int)p->ntypes - 1;
  }
  for (size_t i = 0; i < p->ntypes; i++)
    if (!strcmp(pr_str(p, p->types[i].type), name)) return (int)i;
  return -1;
}

/* ---- HTTP/1.0 client ---- */
int pr_http_get(const char *url, char **body, size_t *len, char *err, size_t errlen)
{
  if (strncmp(url, "http://", 7)) {
    snprintf(err, errlen, "%s: only http:// URLs can be fetched", url);
    return -1;
  }
  const char *h = url + 7, *slash = strchr(h, '/');
  char host[256], port[16] = "80";
  size_t hl = slash ? (size_t)(slash - h) : strlen(h);
  if (!hl || hl >= sizeof host) {
    snprintf(err, errlen, "%s: bad host", url);
    return -1;
  }
  memcpy(host, h, hl);
  host[hl] = 0;
  char *colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
  if (colon) {
    if (host[0] == '[') colon++;
    snprintf(port, sizeof port, "%s", colon + 1);
    *colon = 0;
  }
  if (host[0] == '[') {
    memmove(host, host + 1, strlen(host));
    char *e = strchr(host, ']');
    if (e) *e = 0;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
  int rc = getaddrinfo(host, port, &hints, &ai);
  if (rc) {
    snprintf(err, errlen, "%s: %s", url, gai_strerror(rc));
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
    snprintf(err, errlen, "%s: cannot connect: %s", url, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  freeaddrinfo(ai);
  char req[4096];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: reachcheck\r\n\r\n", slash ? slash : "/", host);
  if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n) {
    snprintf(err, errlen, "%s: cannot send the request", url);
    close(fd);
    return -1;
  }
  size_t cap = 1 << 16, got = 0;
  char *buf = txmalloc(cap);
  for (;;) {
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 600000) <= 0) {
      snprintf(err, errlen, "%s: no answer within 600 s", url);
      free(buf);
      close(fd);
      return -1;
    }
    if (got == cap) {
      if (cap >= MAX_PROFILE) {
        snprintf(err, errlen, "%s: answer over %u bytes", url, MAX_PROFILE);
        free(buf);
        close(fd);
        return -1;
      }
      buf = txrealloc(buf, cap *= 2);
    }
    ssize_t k = read(fd, buf + got, cap - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  char *he = memmem(buf, got, "\r\n\r\n", 4);
  /* "HTTP/1.x NNN ...": the status code, read with strtol. */
  long code = 0;
  char *after = NULL;
  if (he && got > 9 && !memcmp(buf, "HTTP/1.", 7) && buf[8] == ' ') code = strtol(buf + 9, &after, 10);
  if (!he || !after || after == buf + 9 || code < 100 || code > 999) {
    snprintf(err, errlen, "%s: not an HTTP answer", url);
    free(buf);
    return -1;
  }
  he += 4;
  size_t bl = got - (size_t)(he - buf);
  if (code != 200) {
    char line[300];
    size_t k = bl < sizeof line - 1 ? bl : sizeof line - 1;
    memcpy(line, he, k);
    line[k] = 0;
    char *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    snprintf(err, errlen, "%s: HTTP %ld: %s", url, code, line);
    free(buf);
    return -1;
  }
  memmove(buf, he, bl);
  *body = buf;
  *len = bl;
  return 0;
}

static int read_file(const char *path, char **d, size_t *n, char *err, size_t errlen)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st)) {
    snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_PROFILE) {
    snprintf(err, errlen, "'%s' is not a regular file of at most %u bytes", path, MAX_PROFILE);
    close(fd);
    return -1;
  }
  *d = txmalloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t k = read(fd, *d + got, (size_t)st.st_size - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += (size_t)k;
  }
  close(fd);
  *n = got;
  return 0;
}

int pr_load(const char *src, struct pr_profile *p, char *err, size_t errlen)
{
  memset(p, 0, sizeof *p);
  char *d = NULL;
  size_t n = 0;
  if (!strncmp(src, "http://", 7) ? pr_http_get(src, &d, &n, err, errlen) : read_file(src, &d, &n, err, errlen)) return -1;
  struct rc_mbuf raw = {0};
  const uint8_t *bytes = (const uint8_t *)d;
  size_t len = n;
  if (n >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
    char zerr[200];
    if (rc_pp_gunzip(d, n, &raw, MAX_PROFILE, zerr, sizeof zerr)) {
      snprintf(err, errlen, "%s: %s", src, zerr);
      free(d);
      rc_mbuf_free(&raw);
      return -1;
    }
    bytes = (const uint8_t *)raw.d;
    len = raw.len;
  }
  int rc = decode(bytes, len, p);
  free(d);
  rc_mbuf_free(&raw);
  if (rc || !p->ntypes || !p->nstrs) {
    snprintf(err, errlen, "%s: not a pprof profile (%s)", src, rc ? "malformed protobuf" : "no sample types");
    pr_free(p);
    return -1;
  }
  for (size_t i = 0; i < p->nsamples; i++)
    if (p->samples[i].nvalues != p->ntypes) {
      snprintf(err, errlen, "%s: sample %zu has %zu values for %zu sample types", src, i, p->samples[i].nvalues, p->ntypes);
      pr_free(p);
      return -1;
    }
  if (p->nlocs) qsort(p->locs, p->nlocs, sizeof *p->locs, cmp_loc);
  if (p->nfuncs) qsort(p->funcs, p->nfuncs, sizeof *p->funcs, cmp_fn);
  return 0;
}

void pr_free(struct pr_profile *p)
{
  for (size_t i = 0; i < p->nsamples; i++) {
    free(p->samples[i].locs);
    free(p->samples[i].values);
    free(p->samples[i].labels);
  }
  for (size_t i = 0; i < p->nlocs; i++) free(p->locs[i].lines);
  for (size_t i = 0; i < p->nstrs; i++) free(p->strs[i]);
  free(p->types);
  free(p->samples);
  free(p->locs);
  free(p->funcs);
  free(p->strs);
  free(p->comments);
  memset(p, 0, sizeof *p);
}
