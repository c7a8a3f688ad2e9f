/* report_objects=1 (LSAN_OPTIONS): the address and size of every leaked
 * block, noted while the check aggregates (world stopped: rc_vec only) and
 * printed under its group by the text report. */
#include "check/check.h"

struct obj { uintptr_t addr; uint64_t size; uint32_t stack; int kind; };
static struct rc_vec objs;

void rc_objects_reset(void)
{
  if (objs.elem) rc_vec_free(&objs);
  rc_vec_init(&objs, sizeof(struct obj));
}

void rc_objects_note(const struct rc_hdr *h, int kind)
{
  struct obj *o = rc_vec_push(&objs);
  if (!o) return;
  o->addr = (uintptr_t)rc_hdr_user(h);
  o->size = rc_hdr_size(h);
  o->stack = h->stack;
  o->kind = kind;
}

void rc_objects_print(struct rc_buf *b, uint32_t stack, int kind)
{
  if (!rc_opt.report_objects || !objs.elem) return;
  const struct obj *o = (const struct obj *)objs.data;
  bool head = false;
  for (size_t i = 0; i < objs.len; i++) {
    if (o[i].stack != stack || o[i].kind != kind) continue;
    if (!head) rc_buf_printf(b, "Objects leaked above:\n");
    head = true;
    rc_buf_printf(b, "0x%lx (%llu bytes)\n", (unsigned long)o[i].addr, (unsigned long long)o[i].size);
  }
}
