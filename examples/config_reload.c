/* config_reload: a tiny "service" that loads its configuration and reloads it
 * again and again, the way a daemon does on SIGHUP.
 *
 *   config_reload [RELOADS] [CONFIG_FILE]
 *
 * RELOADS defaults to 5. Without CONFIG_FILE the configs come from built-in
 * text; reload number 3 is malformed on purpose (a line without '='), and
 * a malformed reload is logged and ignored: the service keeps running.
 *
 * Run it under reachcheck to see its two memory problems:
 *   1. BUG (a real leak): parse_config() returns early on a malformed line
 *      WITHOUT freeing the config it was building. The struct config is a
 *      direct leak; the entries and their key/value strings hanging off it
 *      are indirect leaks.
 *   2. Growth, not a leak: every replaced config is pushed on `history`,
 *      which is never trimmed. All of it stays reachable, so a leak checker
 *      calls it "reachable", yet the process grows with every reload.
 */
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {                 /* 24 bytes */
  char *key;
  char *value;
  struct entry *next;
};

struct config {                /* 24 bytes */
  int version;
  int nentries;
  struct entry *entries;
  struct config *prev;         /* link in the history list */
};

static struct config *current;  /* the live config */
static struct config *history;  /* every config ever replaced: never trimmed */

static char *copy_range(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p) { perror("malloc"); exit(1); }
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

/* Parse "key=value" lines. Empty lines and lines starting with '#' are
 * skipped. Returns NULL on a malformed line. */
static struct config *parse_config(const char *text, int version)
{
  struct config *cfg = calloc(1, sizeof *cfg);
  if (!cfg) { perror("calloc"); exit(1); }
  cfg->version = version;
  const char *line = text;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > 0 && line[0] != '#') {
      const char *eq = memchr(line, '=', len);
      if (!eq) {
        fprintf(stderr, "config v%d: malformed line: %.*s\n", version, (int)len, line);
        return NULL;   /* BUG: leaks cfg, its entries and their strings */
      }
      struct entry *e = malloc(sizeof *e);
      if (!e) { perror("malloc"); exit(1); }
      e->key = copy_range(line, (size_t)(eq - line));
      e->value = copy_range(eq + 1, len - (size_t)(eq - line) - 1);
      e->next = cfg->entries;
      cfg->entries = e;
      cfg->nentries++;
    }
    line += len + (end ? 1 : 0);
  }
  return cfg;
}

static const char *config_get(const struct config *cfg, const char *key)
{
  for (const struct entry *e = cfg->entries; e; e = e->next)
    if (strcmp(e->key, key) == 0) return e->value;
  return NULL;
}

static char *read_file(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  size_t cap = 4096, len = 0, n;
  char *buf = malloc(cap);
  while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) { perror("malloc"); exit(1); }
  buf[len] = '\0';
  return buf;
}

/* The config text for a given version: built in, or the file re-read. */
static char *config_text(int version, const char *path)
{
  if (path) return read_file(path);
  char *t = malloc(256);
  if (!t) { perror("malloc"); exit(1); }
  if (version == 3)   /* somebody saved a half-edited file */
    snprintf(t, 256, "name=svc\nport=8081\nthis line is broken\nworkers=4\n");
  else
    snprintf(t, 256, "# service config\nname=svc\nport=%d\nworkers=%d\n", 8080 + version,
             2 + version % 3);
  return t;
}

static int reload(int version, const char *path)
{
  char *text = config_text(version, path);
  struct config *cfg = parse_config(text, version);
  free(text);
  if (!cfg) {
    fprintf(stderr, "reload %d failed, keeping config v%d\n", version, current->version);
    return -1;
  }
  if (current) {          /* keep the old one "for diagnostics", forever */
    current->prev = history;
    history = current;
  }
  current = cfg;
  printf("config v%d: %d entries, port=%s\n", cfg->version, cfg->nentries,
         config_get(cfg, "port") ? config_get(cfg, "port") : "?");
  return 0;
}

/* Under reachcheck, with CONFIG_RELOAD_SNAPSHOTS set, take a heap snapshot
 * halfway and at the end, for `reachcheck diff` (weak: runs without it too). */
extern int reachcheck_snapshot(const char *path) __attribute__((weak));

static void snapshot(void)
{
  const char *dir = getenv("CONFIG_RELOAD_SNAPSHOTS");
  char path[512];
  if (!dir || !reachcheck_snapshot) return;
  snprintf(path, sizeof path, "%s/config_reload-%%n.snap.json", dir);
  if (reachcheck_snapshot(path) != 0) perror("reachcheck_snapshot");
}

int main(int argc, char **argv)
{
  int reloads = argc > 1 ? atoi(argv[1]) : 5;
  const char *path = argc > 2 ? argv[2] : NULL;
  if (reload(0, path) != 0) {
    fprintf(stderr, "initial config is malformed\n");
    return 1;
  }
  int failed = 0;
  for (int v = 1; v <= reloads; v++) {
    failed += reload(v, path) != 0;
    if (v == reloads / 2 || v == reloads) snapshot();
  }
  int kept = 0;
  for (struct config *c = history; c; c = c->prev) kept++;
  printf("%d reloads, %d failed, %d old configs kept in history\n", reloads, failed, kept);
  return 0;
}
