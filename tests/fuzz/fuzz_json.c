/* libFuzzer target: the JSON reader of `reachcheck diff/graph`
 * (tools/json_read.c). A parsed document is walked through the lookup
 * helpers and freed; an error is one line naming the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json_read.h"

static size_t walk(const struct rj *v, int depth)
{
  if (!v || depth > 600) return 0;
  size_t n = 1;
  (void)rj_int(v, 0);
  (void)rj_hex(v, 0);
  (void)rj_str(v, NULL);
  if (v->type == RJ_OBJ)
    for (size_t i = 0; i < v->n; i++) {
      if (!v->keys[i]) abort();
      if (rj_get(v, v->keys[i]) == NULL) abort();   /* every key can be looked up */
      n += walk(&v->items[i], depth + 1);
    }
  if (v->type == RJ_ARR) {
    if (rj_len(v) != v->n) abort();
    for (size_t i = 0; i < v->n; i++) n += walk(rj_at(v, i), depth + 1);
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[512];
  err[0] = 0;
  struct rj *v = rj_parse((const char *)data, size, "fuzz.json", err, sizeof err);
  if (!v) {
    if (!memchr(err, 0, sizeof err) || strncmp(err, "fuzz.json:", 10)) abort();
    return 0;
  }
  (void)walk(v, 0);
  (void)rj_get(v, "summary");
  (void)rj_at(v, 0);
  rj_free(v);
  return 0;
}
