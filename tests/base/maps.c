/* scanners/maps.c's two readers of the mappings, against each other: the
 * PROCMAP_QUERY ioctl and the text of /proc/self/maps. 300 small mappings
 * of alternating protections (they cannot merge) and a file mapped under a
 * 200-character path make the text longer than the reader's 8 KiB buffer,
 * so it takes several reads. The listings are taken text, query, text:
 * every mapping's first and last byte that both text listings agree on
 * (the readers' own arrays come and go while they read) must have the same
 * protections in the query's, and the [vsyscall] page, which is no VMA,
 * is left out; the [vvar] pages (named in the text) must be unreadable in
 * both. Exit 0 when they agree, 1 with a line naming the first
 * address where they do not, 77 when the kernel has no PROCMAP_QUERY. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "scanners/scanners.h"

static struct rc_vec text, query, text2;

/* The protections of address a in listing v, -1 where it has none. */
static int prot_at(const struct rc_vec *v, uintptr_t a)
{
  const struct rc_map *m = rc_maps_find(v, a);
  return m ? m->prot : -1;
}

/* The ends of every mapping of `from`, where both text listings agree,
 * against the query's. */
static int agree(const struct rc_vec *from)
{
  const struct rc_map *m = (const struct rc_map *)from->data;
  for (size_t i = 0; i < from->len; i++) {
    uintptr_t probe[2] = {m[i].lo, m[i].hi - 1};
    for (int k = 0; k < 2; k++) {
      int t = prot_at(&text, probe[k]);
      if (probe[k] >= 0xffffffffff600000ull || t < 0 || t != prot_at(&text2, probe[k])) continue;
      if (prot_at(&query, probe[k]) != t) {
        printf("FAIL 0x%lx: the text says prot %d, the query %d (-1: no mapping)\n", (unsigned long)probe[k], t,
               prot_at(&query, probe[k]));
        return 1;
      }
    }
  }
  return 0;
}

int main(void)
{
  for (int i = 0; i < 300; i++)
    if (mmap(NULL, 4096, i & 1 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
      return 2;
  char path[256];
  int n = snprintf(path, sizeof path, "/tmp/rc-maps-%ld-", (long)getpid());
  memset(path + n, 'x', 200);
  path[n + 200] = 0;
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, 4096) || mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) return 2;
  unlink(path);
  if (rc_maps_read_text(&text)) return 2;
  int q = rc_maps_read_query(&query);
  if (q == -1) {
    printf("skip: no PROCMAP_QUERY in this kernel\n");
    return 77;
  }
  if (q || rc_maps_read_text(&text2)) return 2;
  if (text.len < 300 || query.len < 300) {
    printf("FAIL: %zu mappings as text, %zu by query (want 300 or more)\n", text.len, query.len);
    return 1;
  }
  /* a reader that dropped lines: more than the readers' own arrays apart */
  size_t lo = text.len < text2.len ? text.len : text2.len, hi = text.len < text2.len ? text2.len : text.len;
  if (query.len + 4 < lo || query.len > hi + 4) {
    printf("FAIL: %zu and %zu mappings as text, %zu by query\n", text.len, text2.len, query.len);
    return 1;
  }
  int bad = agree(&text) || agree(&query) || agree(&text2);
  /* The kernel's [vvar] pages (some raise SIGBUS when read) are not
   * readable in either listing: found here by their names. */
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int vvar = 0;
  while (!bad && f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (!strstr(line, "[vvar") || sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
    vvar++;
    for (uintptr_t a = lo; a < hi && !bad; a += 4096)
      if ((prot_at(&text, a) > 0 && (prot_at(&text, a) & 1)) || (prot_at(&query, a) > 0 && (prot_at(&query, a) & 1))) {
        printf("FAIL 0x%lx in %.*s is readable to the check\n", (unsigned long)a, (int)strcspn(line, "\n"), line);
        bad = 1;
      }
  }
  if (f) fclose(f);
  if (!bad) printf("%d [vvar] mapping(s), unreadable in both\n", vvar);
  if (!bad) printf("ok: %zu mappings as text, %zu by query, the same protections\n", text.len, query.len);
  return bad;
}
