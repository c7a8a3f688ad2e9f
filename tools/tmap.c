/* A string -> pointer hash map (open addressing, FNV-1a) for the offline tools. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tool_common.h"

static uint64_t hash_str(const char *s)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

void *tmap_get(const struct tmap *m, const char *key)
{
  if (!m->cap) return NULL;
  for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) return NULL;
    if (!strcmp(m->keys[i], key)) return m->vals[i];
  }
}

void tmap_put(struct tmap *m, char *key, void *val)
{
  if ((m->n + 1) * 2 > m->cap) {
    struct tmap n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = txmalloc(n.cap * sizeof *n.keys);
    n.vals = txmalloc(n.cap * sizeof *n.vals);
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) tmap_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
  }
  for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) {
      m->keys[i] = key;
      m->vals[i] = val;
      m->n++;
      return;
    }
    if (!strcmp(m->keys[i], key)) {
      m->vals[i] = val;
      return;
    }
  }
}

/* Like tmap_put, but the map owns a copy of key, made only when it is new
 * (the tools' maps live until the process exits). */
// NOLINTBEGIN(clang-analyzer-unix.Malloc): the map keeps copy until exit
void tmap_put_copy(struct tmap *m, const char *key, void *val)
{
  if (m->cap)
    for (size_t i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
      if (!strcmp(m->keys[i], key)) {
        m->vals[i] = val;
        return;
      }
  char *copy = txstrdup(key);
  tmap_put(m, copy, val);
}
// NOLINTEND(clang-analyzer-unix.Malloc)

void tmap_free(struct tmap *m)
{
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}
