/* Two request handlers for RC_ASSERT_NO_GROWTH (issue 14): one caches the
 * last request's entry (replaced in place: never grows), one appends every
 * request to a global audit list (grows by one 48-byte entry a request).
 * Shared by the plain, GoogleTest, cmocka and Check growth tests. */
#ifndef GROWTH_HANDLERS_H
#define GROWTH_HANDLERS_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct audit_entry { struct audit_entry *next; char what[40]; };   /* 48 bytes */
struct cache_entry { int key; char value[60]; };                  /* 64 bytes */

#ifdef __cplusplus
extern "C" {
#endif
extern struct audit_entry *g_audit_list;
extern struct cache_entry *g_last_entry;
#ifdef __cplusplus
}
#endif
struct audit_entry *g_audit_list;
struct cache_entry *g_last_entry;

__attribute__((noinline)) static void cache_entry_put(int key)
{
  struct cache_entry *e = (struct cache_entry *)calloc(1, sizeof *e);
  e->key = key;
  snprintf(e->value, sizeof e->value, "value %d", key);
  free(g_last_entry);
  g_last_entry = e;
}

__attribute__((noinline)) static void audit_append(int key)
{
  struct audit_entry *a = (struct audit_entry *)calloc(1, sizeof *a);
  snprintf(a->what, sizeof a->what, "request %d", key);
  a->next = g_audit_list;
  g_audit_list = a;
}

/* The handlers: both cache; the second also keeps an audit trail. */
__attribute__((noinline)) static int handle_caching(int key)
{
  cache_entry_put(key);
  return key;
}

__attribute__((noinline)) static int handle_appending(int key)
{
  cache_entry_put(key);
  audit_append(key);
  return key;
}
#endif
