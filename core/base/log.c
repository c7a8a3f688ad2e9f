/* Formatted output into a stack buffer written with write(2): reports must not
 * allocate from the heap being reported on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base.h"

int rc_err_fd = 2;

void rc_err_fd_init(void)
{
  int fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
  if (fd >= 0) rc_err_fd = fd;
}

void rc_buf_init(struct rc_buf *b, int fd)
{
  b->fd = fd;
  b->len = 0;
}

void rc_buf_flush(struct rc_buf *b)
{
  size_t off = 0;
  while (off < b->len) {
    ssize_t w = write(b->fd, b->data + off, b->len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  b->len = 0;
}

void rc_buf_put(struct rc_buf *b, const char *s, size_t n)
{
  while (n) {
    if (b->len == sizeof b->data) rc_buf_flush(b);
    size_t k = sizeof b->data - b->len;
    if (k > n) k = n;
    memcpy(b->data + b->len, s, k);
    b->len += k;
    s += k;
    n -= k;
  }
}

void rc_buf_printf(struct rc_buf *b, const char *fmt, ...)
{
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  rc_buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void rc_buf_json_str(struct rc_buf *b, const char *s)
{
  rc_buf_put(b, "\"", 1);
  while (s && *s) {
    size_t n = 0;   /* a run that needs no escape goes in one put */
    while (s[n] && s[n] != '"' && s[n] != '\\' && (unsigned char)s[n] >= 0x20) n++;
    rc_buf_put(b, s, n);
    s += n;
    if (!*s) break;
    unsigned char c = (unsigned char)*s++;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      rc_buf_put(b, e, 2);
    } else {
      char e[8];
      int k = snprintf(e, sizeof e, "\\u%04x", c);
      rc_buf_put(b, e, (size_t)k);
    }
  }
  rc_buf_put(b, "\"", 1);
}

void rc_buf_u64(struct rc_buf *b, uint64_t v, bool hex)
{
  char t[24];
  size_t i = sizeof t;
  do {
    t[--i] = "0123456789abcdef"[hex ? v & 15 : v % 10];
    v = hex ? v >> 4 : v / 10;
  } while (v);
  if (hex) {
    t[--i] = 'x';
    t[--i] = '0';
  }
  rc_buf_put(b, t + i, sizeof t - i);
}

static void vlog(const char *fmt, va_list ap)
{
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  char tmp[1024];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  rc_buf_put(&b, "reachcheck: ", 12);
  if (n > 0) rc_buf_put(&b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
  rc_buf_put(&b, "\n", 1);
  rc_buf_flush(&b);
}

void rc_log(const char *fmt, ...)
{
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
  errno = e;
}

void rc_die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
  _exit(2);
}

double rc_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- assertions ---- */
void rc_dcheck_fail(const char *file, int line, const char *cond)
{
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_buf_printf(&b, "reachcheck: internal error: %s:%d: RC_DCHECK(%s) failed\n", file, line, cond);
  rc_buf_flush(&b);
  abort();
}
