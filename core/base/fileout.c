/* The output-file writer (see fileout.h). Uses only system calls and the
 * stack, so it also runs in a forked copy and at exit. Written by hand: the
 * rules below (O_NOFOLLOW on the temporary, the ownership test on links,
 * appending to devices) are what matter, and no library states them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base.h"

int rc_path_expand(const char *tmpl, unsigned seq, char *out, size_t n)
{
  size_t o = 0;
  char num[24];
  for (const char *p = tmpl; *p; p++) {
    const char *add = p;
    size_t len = 1;
    if (p[0] == '%' && (p[1] == 'p' || p[1] == 'n')) {
      len = (size_t)snprintf(num, sizeof num, "%u", p[1] == 'p' ? (unsigned)getpid() : seq);
      add = num;
      p++;
    } else if (p[0] == '%' && p[1] == '%') {
      p++;
    }
    if (o + len >= n) {
      if (n) out[0] = 0;
      return -1;
    }
    memcpy(out + o, add, len);
    o += len;
  }
  if (n) out[o] = 0;
  return (int)o;
}

static void split(const char *path, char *dir, size_t dn, const char **base)
{
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, dn, ".");
    *base = path;
  } else if (slash == path) {
    snprintf(dir, dn, "/");
    *base = slash + 1;
  } else {
    snprintf(dir, dn, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
  }
}

/* Is a link at dir (lstat'ed as `l`) safe to write through? The link must be
 * this user's, and its directory not sticky and world-writable (there the
 * owner test is all that stops another user, and root owns nothing of it). */
static bool link_trusted(int dirfd, const struct stat *l)
{
  struct stat d;
  if (l->st_uid != geteuid()) return false;
  if (fstat(dirfd, &d)) return false;
  return !((d.st_mode & S_ISVTX) && (d.st_mode & S_IWOTH));
}

static int open_tmp(struct rc_out *o)
{
  for (int tries = 0; tries < 16; tries++) {
    unsigned char r[8];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
      unsigned long long x = (unsigned long long)getpid() * 0x9e3779b97f4a7c15ull ^ (unsigned long long)(uintptr_t)o ^
                             (unsigned long long)(rc_now_ms() * 1e6) ^ (unsigned long long)tries << 56;
      memcpy(r, &x, sizeof r);
    }
    snprintf(o->tmp, sizeof o->tmp, ".%.180s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", o->final_name, r[0], r[1], r[2],
             r[3], r[4], r[5], r[6], r[7]);
    o->fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (o->fd >= 0) return 0;
    if (errno != EEXIST) break;
  }
  o->tmp[0] = 0;
  return -1;
}

/* The final path is a regular name in a directory: temporary + rename. */
static int open_regular(struct rc_out *o, const char *path, int depth)
{
  char dir[4096];
  const char *base;
  split(path, dir, sizeof dir, &base);
  if (!*base || strlen(base) >= sizeof o->final_name) {
    snprintf(o->why, sizeof o->why, "not a file name");
    errno = EISDIR;
    return -1;
  }
  o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (o->dirfd < 0) {
    snprintf(o->why, sizeof o->why, "%s", strerror(errno));
    return -1;
  }
  snprintf(o->final_name, sizeof o->final_name, "%s", base);
  struct stat st;
  if (fstatat(o->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      /* Write through the link (it stays a link) only when it is ours. */
      char target[PATH_MAX], full[PATH_MAX + 4096];
      ssize_t n = readlinkat(o->dirfd, base, target, sizeof target - 1);
      if (depth > 8 || n <= 0 || !link_trusted(o->dirfd, &st)) {
        snprintf(o->why, sizeof o->why, "a symbolic link this user does not own, or in a sticky world-writable "
                                        "directory: not followed");
        close(o->dirfd);
        o->dirfd = -1;
        errno = ELOOP;
        return -1;
      }
      target[n] = 0;
      if (target[0] == '/') snprintf(full, sizeof full, "%s", target);
      else snprintf(full, sizeof full, "%s/%s", dir, target);
      close(o->dirfd);
      o->dirfd = -1;
      if (strlen(full) >= sizeof o->path) {
        snprintf(o->why, sizeof o->why, "the link's target path is too long");
        errno = ENAMETOOLONG;
        return -1;
      }
      return open_regular(o, full, depth + 1);
    }
    if (S_ISDIR(st.st_mode)) {
      snprintf(o->why, sizeof o->why, "%s", strerror(EISDIR));
      close(o->dirfd);
      o->dirfd = -1;
      errno = EISDIR;
      return -1;
    }
    if (S_ISREG(st.st_mode) && st.st_uid != geteuid() && !link_trusted(o->dirfd, &(struct stat){.st_uid = geteuid()})) {
      /* Another user's file in /tmp: the rename would fail (sticky bit), and
       * writing into it would be writing to a file someone else controls. */
      snprintf(o->why, sizeof o->why, "another user's file in a sticky world-writable directory");
      close(o->dirfd);
      o->dirfd = -1;
      errno = EPERM;
      return -1;
    }
    if (!S_ISREG(st.st_mode)) {   /* a FIFO or device made in place: append */
      close(o->dirfd);
      o->dirfd = -1;
      o->fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
      if (o->fd < 0) snprintf(o->why, sizeof o->why, "%s", strerror(errno));
      else snprintf(o->path, sizeof o->path, "%s", path);
      return o->fd < 0 ? -1 : 0;
    }
  }
  if (open_tmp(o)) {
    snprintf(o->why, sizeof o->why, "%s", strerror(errno));
    close(o->dirfd);
    o->dirfd = -1;
    return -1;
  }
  snprintf(o->path, sizeof o->path, "%s", path);
  return 0;
}

/* A directory only this user can write: $XDG_RUNTIME_DIR, else
 * /tmp/reachcheck-UID made mode 0700 (and checked: not a link, ours). */
static int open_fallback(struct rc_out *o, const char *asked, pid_t pid)
{
  char dir[512];
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  struct stat st;
  if (xdg && xdg[0] == '/' && strlen(xdg) < 256 && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
      st.st_uid == geteuid() && !(st.st_mode & 077)) {
    snprintf(dir, sizeof dir, "%s", xdg);
  } else {
    snprintf(dir, sizeof dir, "/tmp/reachcheck-%u", (unsigned)geteuid());
    if (mkdir(dir, 0700) && errno != EEXIST) return -1;
    if (lstat(dir, &st) || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) return -1;
  }
  const char *base = strrchr(asked, '/');
  base = base ? base + 1 : asked;
  if (!*base) base = "report";
  o->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (o->dirfd < 0) return -1;
  snprintf(o->final_name, sizeof o->final_name, "%.180s.%d", base, (int)pid);
  if (open_tmp(o)) {
    close(o->dirfd);
    o->dirfd = -1;
    return -1;
  }
  fchmod(o->fd, 0600);
  snprintf(o->path, sizeof o->path, "%s/%s", dir, o->final_name);
  o->fallback = true;
  return 0;
}

int rc_out_open(struct rc_out *o, const char *path, bool allow_fallback)
{
  return rc_out_open_for(o, path, allow_fallback, getpid());
}

int rc_out_open_for(struct rc_out *o, const char *path, bool allow_fallback, pid_t pid)
{
  memset(o, 0, sizeof *o);
  o->fd = o->dirfd = -1;
  /* /dev/stdout, /dev/fd/N, /proc/self/fd/N: the program's own streams. */
  if (!strncmp(path, "/dev/", 5) || !strncmp(path, "/proc/", 6)) {
    o->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (o->fd >= 0) {
      snprintf(o->path, sizeof o->path, "%s", path);
      return 0;
    }
    snprintf(o->why, sizeof o->why, "%s", strerror(errno));
  } else if (open_regular(o, path, 0) == 0) {
    return 0;
  }
  if (allow_fallback && open_fallback(o, path, pid) == 0) return 0;
  return -1;
}

int rc_out_commit(struct rc_out *o)
{
  int rc = 0;
  if (close(o->fd)) rc = -1;
  o->fd = -1;
  if (o->dirfd >= 0) {
    if (rc || renameat(o->dirfd, o->tmp, o->dirfd, o->final_name)) {
      snprintf(o->why, sizeof o->why, "%s", strerror(errno));
      unlinkat(o->dirfd, o->tmp, 0);
      rc = -1;
    }
    close(o->dirfd);
    o->dirfd = -1;
  }
  return rc;
}

void rc_out_abort(struct rc_out *o)
{
  if (o->fd >= 0) close(o->fd);
  if (o->dirfd >= 0) {
    unlinkat(o->dirfd, o->tmp, 0);
    close(o->dirfd);
  }
  o->fd = o->dirfd = -1;
}
