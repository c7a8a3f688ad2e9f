/* A small JSON reader for the offline tools (reachcheck diff / graph): the
 * whole document as a tree, or one error line "FILE:LINE:COL: ...". Uses
 * malloc: it runs in the launcher, never in a checked program. Text in,
 * tree out (model.c reads the file), so the fuzzers build it alone. */
#ifndef RC_JSON_READ_H
#define RC_JSON_READ_H
#include <stdbool.h>
#include <stddef.h>

enum rj_type { RJ_NULL, RJ_BOOL, RJ_NUM, RJ_STR, RJ_ARR, RJ_OBJ };

struct rj {
  enum rj_type type;
  bool b;                /* RJ_BOOL */
  bool is_int;           /* RJ_NUM: integral and fits in long long */
  long long ival;
  double num;
  char *str;             /* RJ_STR: UTF-8, NUL-terminated */
  size_t len;
  size_t n;              /* RJ_ARR / RJ_OBJ: number of items */
  struct rj *items;      /* array items, object values */
  char **keys;           /* object keys */
};

/* Parse text[0..len). name is used in the error message. NULL on error. */
struct rj *rj_parse(const char *text, size_t len, const char *name, char *err, size_t errlen);
void rj_free(struct rj *v);

/* Lookups that tolerate NULL and wrong types. */
const struct rj *rj_get(const struct rj *obj, const char *key);
const struct rj *rj_at(const struct rj *arr, size_t i);
size_t rj_len(const struct rj *arr);
long long rj_int(const struct rj *v, long long def);
/* Numbers, and strings such as "0x1a2b". */
unsigned long long rj_hex(const struct rj *v, unsigned long long def);
const char *rj_str(const struct rj *v, const char *def);

#endif
