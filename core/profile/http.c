/* The live endpoint (http=ADDR): one server thread inside the program,
 * serving /debug/pprof/ the way Go's net/http/pprof does, plus
 * /debug/reachcheck/why. Every request is hostile: the head is read with a
 * size cap (16 KiB) and a deadline (5 s), the request line and every
 * parameter are checked, and anything off gets a 4xx and a closed
 * connection. Up to MAXCONN connections are read at once (poll); requests
 * are answered one at a time; one more connection gets a 503 and is closed.
 * The thread runs with rc_in_runtime set (anything it allocates is
 * invisible to the checks) and all its buffers are rc_mmap'd. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "profile/profile.h"
#include "base/http_addr.h"
#include "retain/watch.h"
#include "reachcheck.h"

#define MAXCONN 32
#define HEAD_MAX (16u << 10)
#define BODY_MAX (64u << 10)
#define HEAD_MS 5000
#define WRITE_MS 30000
#define SECONDS_MAX 300

enum { C_FREE, C_READ, C_WAIT, C_WRITE };
struct conn {
  int fd, state;
  char *buf;              /* HEAD_MAX + BODY_MAX, mapped once per slot */
  size_t len;
  double deadline;        /* ms: head read, ?seconds wait, or write */
  struct rc_mbuf out;
  size_t off;
  /* ?seconds=N: the profile at the start of the wait */
  struct rc_prof base;
  enum rc_prof_kind kind;
  bool debug;
};

static struct {
  int lfd, wake[2];
  bool running, stop;
  int active;             /* the thread is inside the loop */
  char where[300];
  char addr[300];         /* rc_opt.http with %p expanded: this process's address */
  pid_t owner;            /* the process that bound it (a snapshot's copy is another) */
  int unlinked;
  struct conn c[MAXCONN];
} S = {.lfd = -1, .wake = {-1, -1}};

/* ---- responses ---- */
static const char *reason(int code)
{
  switch (code) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 503: return "Service Unavailable";
  default: return "Error";
  }
}

static void respond(struct conn *c, int code, const char *type, const void *body, size_t n, const char *extra)
{
  rc_mbuf_reset(&c->out);
  rc_mbuf_printf(&c->out, "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                          "X-Content-Type-Options: nosniff\r\n%s\r\n",
                 code, reason(code), type, n, extra ? extra : "");
  rc_mbuf_put(&c->out, body, n);
  c->off = 0;
  c->state = C_WRITE;
  c->deadline = rc_now_ms() + WRITE_MS;
  if (c->out.oom) {   /* nothing sensible can be sent */
    rc_mbuf_reset(&c->out);
    c->out.oom = false;
    static const char e[] = "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    rc_mbuf_put(&c->out, e, sizeof e - 1);
  }
}

static void respond_error(struct conn *c, int code, const char *fmt, ...)
{
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  respond(c, code, "text/plain; charset=utf-8", line, (size_t)n, NULL);
}

/* ---- request parsing ---- */
struct req {
  char method[8];
  char path[256];
  char query[2048];
  const char *body;
  size_t body_len;
};

static const char index_html[] =
  "<html><head><title>/debug/pprof/</title></head><body>\n"
  "<p>reachcheck: heap profiles of this program in pprof's format (go tool pprof, reachcheck top).</p>\n"
  "<table>\n"
  "<tr><td><a href=\"heap?debug=1\">heap</a></td><td>live blocks by allocation stack (default inuse_space); ?gc=1 runs a "
  "reachability check first (leaked_* and the root label), ?seconds=N a delta over N seconds</td></tr>\n"
  "<tr><td><a href=\"allocs?debug=1\">allocs</a></td><td>the same profile, default alloc_space (every allocation since "
  "start)</td></tr>\n"
  "<tr><td><a href=\"leaks?debug=1\">leaks</a></td><td>with a reachability check, default leaked_space</td></tr>\n"
  "<tr><td><a href=\"threads?debug=1\">threads</a></td><td>every thread's current stack (alias: goroutine)</td></tr>\n"
  "<tr><td><a href=\"symbol\">symbol</a></td><td>pprof's symbolization requests</td></tr>\n"
  "<tr><td><a href=\"cmdline\">cmdline</a></td><td>the command line</td></tr>\n"
  "<tr><td><a href=\"../reachcheck/why\">../reachcheck/why</a></td><td>?addr=0x... or ?site=FUNC: why a block is "
  "alive</td></tr>\n"
  "</table></body></html>\n";

/* The heap profiles: /heap, /allocs, /leaks. */
static void serve_heap(struct conn *c, const struct req *r, enum rc_prof_kind kind)
{
  long debug = rc_query_num(r->query, "debug", 2), gc = rc_query_num(r->query, "gc", 1),
       seconds = rc_query_num(r->query, "seconds", SECONDS_MAX);
  if (debug == -2 || gc == -2 || seconds == -2) {
    respond_error(c, 400, "bad parameter: debug and gc take 0 or 1, seconds 1 to %d", SECONDS_MAX);
    return;
  }
  bool check = kind == RC_PROF_LEAKS || gc == 1;
  if (seconds > 0 && check) {
    respond_error(c, 400, "seconds=N is a delta of the allocation counters: it cannot be combined with gc=1 or /leaks");
    return;
  }
  c->kind = kind;
  c->debug = debug > 0;
  if (seconds > 0) {
    if (rc_prof_counters(&c->base)) {
      respond_error(c, 500, "out of memory");
      return;
    }
    c->state = C_WAIT;
    c->deadline = rc_now_ms() + seconds * 1000.0;
    return;
  }
  struct rc_prof p;
  char err[256];
  if (check ? rc_prof_checked(&p, err, sizeof err) : rc_prof_counters(&p)) {
    if (!check) snprintf(err, sizeof err, "out of memory");
    respond_error(c, 500, "%s", err);
    return;
  }
  struct rc_mbuf body = {0};
  if (c->debug) rc_prof_text(&p, NULL, kind, &body);
  else if (rc_prof_pprof(&p, NULL, kind, &body)) body.oom = true;
  rc_prof_free(&p);
  if (body.oom) respond_error(c, 500, "out of memory writing the profile");
  else if (c->debug) respond(c, 200, "text/plain; charset=utf-8", body.d, body.len, NULL);
  else
    respond(c, 200, "application/octet-stream", body.d, body.len,
            kind == RC_PROF_ALLOCS ? "Content-Disposition: attachment; filename=\"allocs\"\r\n"
            : kind == RC_PROF_LEAKS ? "Content-Disposition: attachment; filename=\"leaks\"\r\n"
                                    : "Content-Disposition: attachment; filename=\"heap\"\r\n");
  rc_mbuf_free(&body);
}

/* ?seconds=N has elapsed: the delta against the counters at its start. */
static void finish_wait(struct conn *c)
{
  struct rc_prof p;
  struct rc_mbuf body = {0};
  if (rc_prof_counters(&p)) body.oom = true;
  else {
    if (c->debug) rc_prof_text(&p, &c->base, c->kind, &body);
    else if (rc_prof_pprof(&p, &c->base, c->kind, &body)) body.oom = true;
    rc_prof_free(&p);
  }
  rc_prof_free(&c->base);
  if (body.oom) respond_error(c, 500, "out of memory writing the profile");
  else respond(c, 200, c->debug ? "text/plain; charset=utf-8" : "application/octet-stream", body.d, body.len, NULL);
  rc_mbuf_free(&body);
}

/* A page of http_pages.c: its status, type and body. */
static void page(struct conn *c, int code, const char *ctype, struct rc_mbuf *body)
{
  if (body->oom) respond_error(c, 500, "out of memory");
  else if (code != 200) respond(c, code, "text/plain; charset=utf-8", body->d, body->len, NULL);
  else respond(c, 200, ctype, body->d, body->len, NULL);
  rc_mbuf_free(body);
}

static void cmdline(struct conn *c)
{
  char buf[8192];
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  if (n < 0) n = 0;
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i]) buf[i] = '\n';
  respond(c, 200, "text/plain; charset=utf-8", buf, (size_t)n, NULL);
}

static void route(struct conn *c, const struct req *r)
{
  bool get = !strcmp(r->method, "GET");
  const char *p = r->path;
  if (!strcmp(p, "/debug/pprof/symbol")) {
    if (!get && strcmp(r->method, "POST")) respond_error(c, 405, "method %s not allowed here (GET or POST)", r->method);
    else {
      struct rc_mbuf body = {0};
      const char *ct = "text/plain";
      int code = rc_page_symbol(!get, r->body, r->body_len, &body, &ct);
      page(c, code, ct, &body);
    }
    return;
  }
  if (!get) {
    respond_error(c, 405, "method %s not allowed (GET only)", r->method);
    return;
  }
  if (!strcmp(p, "/debug/pprof/") || !strcmp(p, "/debug/pprof"))
    respond(c, 200, "text/html; charset=utf-8", index_html, sizeof index_html - 1, NULL);
  else if (!strcmp(p, "/debug/pprof/heap")) serve_heap(c, r, RC_PROF_HEAP);
  else if (!strcmp(p, "/debug/pprof/allocs")) serve_heap(c, r, RC_PROF_ALLOCS);
  else if (!strcmp(p, "/debug/pprof/leaks")) serve_heap(c, r, RC_PROF_LEAKS);
  else if (!strcmp(p, "/debug/pprof/threads") || !strcmp(p, "/debug/pprof/goroutine")) {
    struct rc_mbuf body = {0};
    const char *ct = "text/plain";
    int code = rc_page_threads(r->query, &body, &ct);
    page(c, code, ct, &body);
  } else if (!strcmp(p, "/debug/pprof/cmdline")) cmdline(c);
  else if (!strcmp(p, "/debug/reachcheck/why")) {
    struct rc_mbuf body = {0};
    const char *ct = "text/plain";
    int code = rc_page_why(r->query, &body, &ct);
    page(c, code, ct, &body);
  } else if (!strcmp(p, "/debug/reachcheck/growth")) {
    struct rc_mbuf body = {0};
    int code = rc_watch_page(&body);
    page(c, code, code == 200 ? "application/json" : "text/plain; charset=utf-8", &body);
  } else respond_error(c, 404, "no such page (see /debug/pprof/)");
}

/* The head is complete in c->buf[0..len): parse it and answer. Returns
 * false while a POST body is still to come. */
static bool handle(struct conn *c, size_t head_len)
{
  struct req r;
  memset(&r, 0, sizeof r);
  const char *b = c->buf, *eol = memchr(b, '\n', head_len);
  size_t ll = (size_t)(eol - b);
  if (ll && b[ll - 1] == '\r') ll--;
  /* METHOD SP TARGET SP HTTP/1.x, printable ASCII only */
  for (size_t i = 0; i < ll; i++)
    if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] >= 0x7f) {
      respond_error(c, 400, "bad request line (control or non-ASCII byte)");
      return true;
    }
  const char *sp1 = memchr(b, ' ', ll), *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - b)) : NULL;
  if (!sp1 || !sp2 || sp1 == b || (size_t)(sp1 - b) >= sizeof r.method || sp2 == sp1 + 1 ||
      (size_t)(b + ll - sp2 - 1) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) || !isdigit((unsigned char)sp2[8])) {
    respond_error(c, 400, "bad request line (want METHOD /path HTTP/1.x)");
    return true;
  }
  memcpy(r.method, b, (size_t)(sp1 - b));
  for (char *m = r.method; *m; m++)
    if (*m < 'A' || *m > 'Z') {
      respond_error(c, 400, "bad method");
      return true;
    }
  const char *t = sp1 + 1;
  size_t tl = (size_t)(sp2 - t);
  if (t[0] != '/') {
    respond_error(c, 400, "bad request target (want an absolute path)");
    return true;
  }
  const char *qm = memchr(t, '?', tl);
  size_t pl = qm ? (size_t)(qm - t) : tl, ql = qm ? tl - pl - 1 : 0;
  if (pl >= sizeof r.path || ql >= sizeof r.query) {
    respond_error(c, 414, "request target too long");
    return true;
  }
  memcpy(r.path, t, pl);
  if (qm) memcpy(r.query, qm + 1, ql);
  /* headers: only Content-Length matters (a POST to /symbol) */
  long clen = -1;
  for (const char *h = eol + 1; h < b + head_len;) {
    const char *e = memchr(h, '\n', (size_t)(b + head_len - h));
    if (!e) break;
    size_t hl = (size_t)(e - h);
    if (hl && h[hl - 1] == '\r') hl--;
    if (!hl) break;
    const char *colon = memchr(h, ':', hl);
    if (!colon || colon == h) {
      respond_error(c, 400, "bad header line");
      return true;
    }
    if ((size_t)(colon - h) == 14 && !strncasecmp(h, "content-length", 14)) {
      char v[32];
      const char *s = colon + 1;
      while (s < h + hl && (*s == ' ' || *s == '\t')) s++;
      size_t vl = (size_t)(h + hl - s);
      if (!vl || vl >= sizeof v) {
        respond_error(c, 400, "bad Content-Length");
        return true;
      }
      memcpy(v, s, vl);
      v[vl] = 0;
      char *end;
      errno = 0;
      clen = strtol(v, &end, 10);
      if (*end || errno || clen < 0 || !isdigit((unsigned char)v[0])) {
        respond_error(c, 400, "bad Content-Length");
        return true;
      }
    }
    h = e + 1;
  }
  if (!strcmp(r.method, "POST")) {
    if (clen < 0) {
      respond_error(c, 411, "POST needs a Content-Length");
      return true;
    }
    if (clen > (long)BODY_MAX) {
      respond_error(c, 413, "body over %u bytes", BODY_MAX);
      return true;
    }
    if (c->len < head_len + (size_t)clen) return false;   /* more to read */
    r.body = c->buf + head_len;
    r.body_len = (size_t)clen;
  }
  route(c, &r);
  return true;
}

/* ---- the loop ---- */
static void conn_close(struct conn *c)
{
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->state = C_FREE;
  c->len = 0;
  rc_mbuf_free(&c->out);
  if (c->base.counts) rc_prof_free(&c->base);
}

/* End of the head (after the blank line) in buf[0..len), or 0. */
static size_t head_end(const char *buf, size_t len)
{
  for (size_t i = 0; i + 1 < len; i++) {
    if (buf[i] != '\n') continue;
    if (buf[i + 1] == '\n') return i + 2;
    if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n') return i + 3;
  }
  return 0;
}

static void on_readable(struct conn *c)
{
  size_t cap = HEAD_MAX + BODY_MAX;
  bool eof = false;
  for (;;) {
    if (c->len == cap) break;
    ssize_t n = recv(c->fd, c->buf + c->len, cap - c->len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0) {   /* reset */
      conn_close(c);
      return;
    }
    if (n == 0) {   /* the client finished sending (or gave up) */
      eof = true;
      break;
    }
    c->len += (size_t)n;
  }
  size_t he = head_end(c->buf, c->len < HEAD_MAX ? c->len : HEAD_MAX);
  if (!he) {
    if (c->len >= HEAD_MAX) respond_error(c, 431, "request head over %u bytes", HEAD_MAX);
    else if (eof && c->len) respond_error(c, 400, "incomplete request head");
    else if (eof) conn_close(c);
    return;
  }
  if (!handle(c, he) && eof) respond_error(c, 400, "body shorter than its Content-Length");
}

static void on_writable(struct conn *c)
{
  while (c->off < c->out.len) {
    ssize_t n = send(c->fd, c->out.d + c->off, c->out.len - c->off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break;
    c->off += (size_t)n;
  }
  shutdown(c->fd, SHUT_WR);
  conn_close(c);
}

static void accept_all(void)
{
  for (;;) {
    int fd = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct conn *c = NULL;
    for (int i = 0; i < MAXCONN && !c; i++)
      if (S.c[i].state == C_FREE && S.c[i].buf) c = &S.c[i];
    if (!c) {
      static const char busy[] = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 41\r\n"
                                 "Connection: close\r\n\r\ntoo many connections to the endpoint now\n";
      (void)!send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    c->fd = fd;
    c->state = C_READ;
    c->len = 0;
    c->deadline = rc_now_ms() + HEAD_MS;
  }
}

/* Answering leaves copies of program addresses in dead stack slots (a
 * ?addr= parsed, headers walked by a check): this thread's stack is a root
 * of every check, so they would keep leaked blocks alive. Wiped after each
 * round of answers, as core/check.c wipes below its own frame. */
__attribute__((noinline)) static void wipe_stack(void)
{
  volatile char buf[32768];
  memset((char *)buf, 0, sizeof buf);
  __asm__ __volatile__("" : : "r"(buf) : "memory");
}

static void *server(void *arg)
{
  (void)arg;
  rc_in_runtime++;   /* this thread is reachcheck's: its allocations are internal */
  struct pollfd pf[MAXCONN + 2];
  int idx[MAXCONN + 2];
  while (!__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE)) {
    double now = rc_now_ms();
    int n = 0, timeout = 1000;
    pf[n] = (struct pollfd){S.wake[0], POLLIN, 0};
    idx[n++] = -1;
    pf[n] = (struct pollfd){S.lfd, POLLIN, 0};
    idx[n++] = -1;
    for (int i = 0; i < MAXCONN; i++) {
      struct conn *c = &S.c[i];
      if (c->state == C_FREE) continue;
      int left = (int)(c->deadline - now) + 1;
      if (left < timeout) timeout = left < 0 ? 0 : left;
      if (c->state == C_WAIT) continue;
      pf[n] = (struct pollfd){c->fd, c->state == C_READ ? POLLIN : POLLOUT, 0};
      idx[n++] = i;
    }
    int r = poll(pf, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR) break;
    if (__atomic_load_n(&S.stop, __ATOMIC_ACQUIRE)) break;
    __atomic_store_n(&S.active, 1, __ATOMIC_RELEASE);
    if (r > 0) {
      /* the program closed our descriptors (a daemon closing every fd):
       * stop serving rather than spin on them */
      if ((pf[0].revents | pf[1].revents) & (POLLNVAL | POLLERR)) {
        rc_log("the http endpoint's socket was closed by the program; the endpoint stops");
        for (int i = 0; i < MAXCONN; i++) S.c[i].state = C_FREE;   /* their fds may be the program's now */
        S.lfd = S.wake[0] = -1;
        break;
      }
      if (pf[1].revents) accept_all();
      for (int k = 2; k < n; k++) {
        if (!pf[k].revents) continue;
        struct conn *c = &S.c[idx[k]];
        if (pf[k].revents & POLLNVAL) {   /* closed behind our back: the number is not ours to close */
          c->fd = -1;
          conn_close(c);
          continue;
        }
        if (c->state == C_READ) on_readable(c);
        if (c->state == C_WRITE) on_writable(c);
      }
    }
    now = rc_now_ms();
    for (int i = 0; i < MAXCONN; i++) {
      struct conn *c = &S.c[i];
      if (c->state == C_FREE || now < c->deadline) continue;
      if (c->state == C_READ) {   /* too slow: a 408, then closed whether or not it reads it */
        respond_error(c, 408, "request not complete within %d ms", HEAD_MS);
        on_writable(c);
        if (c->state != C_FREE) conn_close(c);
      } else if (c->state == C_WAIT) {
        finish_wait(c);
        on_writable(c);
      } else {
        conn_close(c);   /* the client does not read its answer */
      }
    }
    __atomic_store_n(&S.active, 0, __ATOMIC_RELEASE);
    if (r > 0) wipe_stack();
  }
  for (int i = 0; i < MAXCONN; i++)
    if (S.c[i].state != C_FREE) conn_close(&S.c[i]);
  __atomic_store_n(&S.running, false, __ATOMIC_RELEASE);
  return NULL;
}

/* The endpoint belongs to a process, and a process keeps its pid across
 * exec: a wrapper that ends in `exec ./server` (sh -c, entrypoint
 * scripts) hands the endpoint to the server, whose runtime serves again on
 * the same address (the old listening socket died with the old image: it
 * is close-on-exec, and a unix socket's file is replaced, listen_on).
 * Other programs it runs inherit REACHCHECK_OPTIONS too, and must not try
 * to listen on the same port: once listening, the runtime removes http=
 * from REACHCHECK_OPTIONS and puts "PID:ADDRESS" (the option as given,
 * %p unexpanded) in REACHCHECK_HTTP_PID; a runtime started in that pid
 * takes the address from there, one in another pid serves nothing. A
 * program that passes its children REACHCHECK_OPTIONS but not the marker
 * (a filtered environment) thus never starts a second server on the
 * address, and one that drops both only loses the endpoint. The pid has a
 * fixed width, so that a forked child that serves its own endpoint
 * (rc_http_after_fork_child) can write its pid there in place: setenv
 * takes glibc's environment lock, which another thread of the parent may
 * have held at fork. */
#define OWNER_ENV "REACHCHECK_HTTP_PID"
#define OWNER_DIGITS 10   /* a pid_t in decimal */

static void owner_digits(char *d, pid_t pid)
{
  unsigned long v = (unsigned long)pid;
  for (int i = OWNER_DIGITS; i-- > 0; v /= 10) d[i] = (char)('0' + v % 10);
}

static void drop_http_option(void)
{
  const char *env = getenv("REACHCHECK_OPTIONS");
  if (!env) return;
  char out[65536];
  size_t o = 0;
  for (const char *s = env; *s;) {
    const char *e = strchr(s, ':');
    if (!strncmp(s, "http=", 5))
      while (e && e[1] && !memchr(e + 1, '=', strcspn(e + 1, ":"))) e = strchr(e + 1, ':');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (strncmp(s, "http=", 5) && n && o + n + 2 < sizeof out) {
      if (o) out[o++] = ':';
      memcpy(out + o, s, n);
      o += n;
    }
    if (!e) break;
    s = e + 1;
  }
  out[o] = 0;
  setenv("REACHCHECK_OPTIONS", out, 1);
}

static void owner_mark(void)
{
  char v[OWNER_DIGITS + 1 + sizeof S.addr];
  owner_digits(v, getpid());
  v[OWNER_DIGITS] = ':';
  size_t room = sizeof v - OWNER_DIGITS - 1;
  if ((size_t)snprintf(v + OWNER_DIGITS + 1, room, "%s", rc_opt.http) >= room)
    v[OWNER_DIGITS + 1] = 0;   /* no address rather than a cut one: the exec'd program serves nothing */
  drop_http_option();
  setenv(OWNER_ENV, v, 1);
}

/* In a forked child, async-signal-safe: the inherited pid rewritten in
 * place. */
static void owner_mark_child(void)
{
  char *v = getenv(OWNER_ENV);
  if (v && strlen(v) > OWNER_DIGITS && v[OWNER_DIGITS] == ':') owner_digits(v, getpid());
}

/* The address REACHCHECK_HTTP_PID hands to this pid (an exec in the
 * serving process), or NULL. */
static const char *owner_address(void)
{
  const char *v = getenv(OWNER_ENV);
  if (!v || strlen(v) <= OWNER_DIGITS + 1 || v[OWNER_DIGITS] != ':' ||
      strspn(v, "0123456789") != OWNER_DIGITS || strtol(v, NULL, 10) != (long)getpid())
    return NULL;
  return v + OWNER_DIGITS + 1;
}

/* Socket, bind, listen on S.addr; 0, or -1 with errno (the fd closed). */
static int listen_on(const struct sockaddr_storage *sa, socklen_t len)
{
  int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0 && sa->ss_family != AF_UNIX) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int bound = fd >= 0 ? bind(fd, (const struct sockaddr *)sa, len) : -1;
  if (bound && errno == EADDRINUSE && sa->ss_family == AF_UNIX) {
    /* a socket file left by a process that died: nobody accepts on it */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, len) && errno == ECONNREFUSED) {
      unlink(((const struct sockaddr_un *)sa)->sun_path);
      bound = bind(fd, (const struct sockaddr *)sa, len);
    } else {
      errno = EADDRINUSE;
    }
    if (probe >= 0) close(probe);
  }
  if (fd < 0 || bound || listen(fd, 64)) {
    int e = errno;
    if (fd >= 0) close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static void describe(int fd)
{
  struct sockaddr_storage got;
  memset(&got, 0, sizeof got);
  socklen_t gl = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &gl);
  if (got.ss_family == AF_INET) {
    char a[64];
    inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, a, sizeof a);
    snprintf(S.where, sizeof S.where, "http://%s:%d", a, ntohs(((struct sockaddr_in *)&got)->sin_port));
  } else if (got.ss_family == AF_INET6) {
    char a[64];
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, a, sizeof a);
    snprintf(S.where, sizeof S.where, "http://[%s]:%d", a, ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
  } else {
    snprintf(S.where, sizeof S.where, "unix:%.290s", S.addr + 5);
  }
}

/* Descriptors, the server thread and the line saying where: the start-up
 * and a forked child's start share it. */
static bool serve(int fd)
{
  describe(fd);
  if (pipe2(S.wake, O_CLOEXEC | O_NONBLOCK)) {
    rc_log("cannot start the http endpoint in pid %d: pipe: %s", (int)getpid(), strerror(errno));
    close(fd);
    return false;
  }
  /* high descriptor numbers, out of the way of the program's own (as the
   * report's copy of stderr, core/log.c) */
  int *fds[] = {&fd, &S.wake[0], &S.wake[1]};
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
    int hi = fcntl(*fds[i], F_DUPFD_CLOEXEC, 900);
    if (hi >= 0) {
      close(*fds[i]);
      *fds[i] = hi;
    }
  }
  S.lfd = fd;
  S.stop = false;
  S.running = true;
  S.owner = getpid();
  S.unlinked = 0;
  if (rc_thread_spawn("rc-http", server, NULL)) {
    rc_log("cannot start the http endpoint thread in pid %d", (int)getpid());
    S.running = false;
    return false;
  }
  rc_log("serving %s/debug/pprof/ (pid %d)", S.where, (int)getpid());
  return true;
}

static int parse(struct sockaddr_storage *sa, socklen_t *len, char *err, size_t n)
{
  if (rc_path_expand(rc_opt.http, 0, S.addr, sizeof S.addr) < 0) {
    snprintf(err, n, "bad value for option 'http=%.200s' (too long)", rc_opt.http);
    return -1;
  }
  return rc_http_parse_addr(S.addr, sa, len, err, n);
}

void rc_http_start(void)
{
  if (!rc_opt.http[0]) {   /* dropped by the serving process, or never set (see owner_mark) */
    const char *mine = owner_address();
    if (!mine) return;
    rc_opt.http = rc_strdup_internal(mine);
  }
  struct sockaddr_storage sa;
  socklen_t len;
  char err[512];
  if (parse(&sa, &len, err, sizeof err)) {
    rc_log("%s", err);
    _exit(2);
  }
  int fd = listen_on(&sa, len);
  if (fd < 0) {
    rc_log("cannot serve http=%s: %s", S.addr, strerror(errno));
    _exit(2);
  }
  for (int i = 0; i < MAXCONN; i++) {
    S.c[i].fd = -1;
    S.c[i].buf = rc_mmap(HEAD_MAX + BODY_MAX);
  }
  owner_mark();   /* the environment, before the server thread starts */
  if (!serve(fd)) _exit(2);
}

/* Is the address one per process? unix:/PATH with %p, or port 0. */
static bool per_process(void)
{
  if (!strncmp(rc_opt.http, "unix:", 5)) return strstr(rc_opt.http, "%p") != NULL;
  size_t n = strlen(rc_opt.http);
  return n >= 2 && !strcmp(rc_opt.http + n - 2, ":0");
}

/* A forked child (the atfork child handler, runtime/init.c) has no server
 * thread: it drops the parent's listening socket and connections (the
 * parent keeps serving on them) and, when the address is per process and
 * follow_fork is on, serves its own; a fixed address stays the parent's. */
void rc_http_after_fork_child(void)
{
  bool had = S.lfd >= 0;
  if (S.lfd >= 0) close(S.lfd);
  for (int i = 0; i < 2; i++)
    if (S.wake[i] >= 0) close(S.wake[i]);
  for (int i = 0; i < MAXCONN; i++)
    if (S.c[i].fd >= 0 && S.c[i].state != C_FREE) {
      close(S.c[i].fd);
      S.c[i].fd = -1;
      S.c[i].state = C_FREE;
    }
  S.lfd = S.wake[0] = S.wake[1] = -1;
  S.running = false;
  S.active = 0;
  if (!had || !rc_opt.follow_fork || !per_process()) return;
  struct sockaddr_storage sa;
  socklen_t len;
  char err[512];
  if (parse(&sa, &len, err, sizeof err)) {
    rc_log("no http endpoint in pid %d: %s", (int)getpid(), err);
    return;
  }
  int fd = listen_on(&sa, len);
  if (fd < 0) {
    rc_log("no http endpoint in pid %d: cannot serve %s: %s", (int)getpid(), S.addr, strerror(errno));
    return;
  }
  if (serve(fd)) owner_mark_child();
}

/* The socket file goes with the process that made it: at exit (rc_http_stop)
 * and at _exit, where forked children usually end (async-signal-safe: a
 * pid test and unlink). Not at exec: an exec'ed child leaves its file, which
 * the next bind of that name replaces (docs/daemons.md). */
static void forget_socket(void)
{
  if (S.owner != getpid() || strncmp(S.addr, "unix:", 5)) return;
  if (!__atomic_exchange_n(&S.unlinked, 1, __ATOMIC_ACQ_REL)) unlink(S.addr + 5);
}

/* _exit runs no atexit handler; glibc's is exit_group and nothing else. */
__attribute__((visibility("default"), noreturn)) void _exit(int status)
{
  if (__atomic_load_n(&S.running, __ATOMIC_ACQUIRE)) forget_socket();
  for (;;) syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void _Exit(int status) { _exit(status); }

void rc_http_stop(void)
{
  if (!__atomic_load_n(&S.running, __ATOMIC_ACQUIRE)) return;
  __atomic_store_n(&S.stop, true, __ATOMIC_RELEASE);
  if (S.wake[1] >= 0) (void)!write(S.wake[1], "x", 1);
  /* a request being answered (a profile, a check) finishes first: up to 10 s */
  for (int i = 0; i < 2000 && __atomic_load_n(&S.running, __ATOMIC_ACQUIRE); i++) {
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  if (S.lfd >= 0) close(S.lfd);
  S.lfd = -1;
  forget_socket();
}
