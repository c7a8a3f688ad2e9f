/* /proc/self/maps at check time: the readable mappings every root range is
 * clipped to, so a stale bound never makes the checker fault. Read with
 * open/read into stack buffers: no stdio, no heap. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "scanners/scanners.h"

static uintptr_t hex(const char **p)
{
  uintptr_t v = 0;
  for (;; (*p)++) {
    char c = **p;
    if (c >= '0' && c <= '9') v = v * 16 + (uintptr_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v = v * 16 + (uintptr_t)(c - 'a' + 10);
    else return v;
  }
}

static void parse_line(struct rc_vec *out, const char *l, const char *end)
{
  const char *p = l;
  uintptr_t lo = hex(&p);
  if (*p++ != '-') return;
  uintptr_t hi = hex(&p);
  if (*p++ != ' ' || end - p < 4) return;
  int prot = (p[0] == 'r' ? 1 : 0) | (p[1] == 'w' ? 2 : 0) | (p[2] == 'x' ? 4 : 0);
  /* skip perms, offset, dev, inode to the name */
  int fields = 0;
  while (p < end && fields < 4) {
    while (p < end && *p != ' ') p++;
    while (p < end && *p == ' ') p++;
    fields++;
  }
  struct rc_map *m = rc_vec_push(out);
  if (!m) return;
  m->lo = lo;
  m->hi = hi;
  m->prot = prot;
  size_t n = (size_t)(end - p);
  if (n >= sizeof m->name) p = end - (n = sizeof m->name - 1);  /* keep the tail of long paths */
  memcpy(m->name, p, n);
  m->name[n] = 0;
}

int rc_maps_read(struct rc_vec *out)
{
  rc_vec_init(out, sizeof(struct rc_map));
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[8192], line[4096];
  size_t ll = 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] == '\n') {
        line[ll] = 0;   /* hex() stops at the NUL even on a malformed line */
        parse_line(out, line, line + ll);
        ll = 0;
      } else if (ll < sizeof line - 1) {
        line[ll++] = buf[i];
      }
    }
  }
  close(fd);
  return 0;
}

const struct rc_map *rc_maps_find(const struct rc_vec *maps, uintptr_t a)
{
  const struct rc_map *m = (const struct rc_map *)maps->data;
  size_t lo = 0, hi = maps->len;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a < m[mid].lo) hi = mid;
    else if (a >= m[mid].hi) lo = mid + 1;
    else return &m[mid];
  }
  return NULL;
}

void rc_root_clipped(const struct rc_vec *maps, rc_root_fn fn, void *ctx, uintptr_t lo, uintptr_t hi,
                     const struct rc_root_range *r)
{
  const struct rc_map *m = (const struct rc_map *)maps->data;
  for (size_t i = 0; i < maps->len && lo < hi; i++) {
    if (m[i].hi <= lo) continue;
    if (m[i].lo >= hi) break;
    uintptr_t a = lo > m[i].lo ? lo : m[i].lo, b = hi < m[i].hi ? hi : m[i].hi;
    if ((m[i].prot & 1) && a < b) fn(ctx, a, b, r);
  }
}
