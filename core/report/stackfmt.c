/* The one stack formatter: every allocation stack in every output (text
 * report, JSON report, retention tables, why-paths, snapshots, SARIF) is
 * walked and symbolized here, and printed in one of a few styles. */
#define _GNU_SOURCE
#include <string.h>
#include "report/report.h"

uint32_t rc_stack_each(uint32_t stack, int max_frames, rc_frame_fn fn, void *ctx)
{
  const struct rc_stack *s = rc_depot_get(stack);
  if (!s) return 0;
  uint32_t n = s->depth;
  if (max_frames > 0 && (uint32_t)max_frames < n) n = (uint32_t)max_frames;
  for (uint32_t i = 0; i < n; i++) {
    struct rc_frame_info fi;
    rc_symbolize(s->pc[i], s->gen, &fi);
    fn(ctx, i, &fi);
  }
  return s->depth;
}

void rc_json_frame(struct rc_buf *b, const struct rc_frame_info *fi)
{
  rc_buf_put(b, "{\"function\":", 12);
  rc_buf_json_str(b, fi->function);
  rc_buf_put(b, ",\"file\":", 8);
  rc_buf_json_str(b, fi->file ? fi->file : "");
  rc_buf_put(b, ",\"line\":", 8);
  if (fi->line < 0) rc_buf_put(b, "-", 1);
  rc_buf_u64(b, fi->line < 0 ? -(uint64_t)fi->line : (uint64_t)fi->line, false);
  rc_buf_put(b, ",\"module\":", 10);
  rc_buf_json_str(b, fi->module);
  rc_buf_put(b, ",\"offset\":\"", 11);
  rc_buf_u64(b, fi->offset, true);
  rc_buf_put(b, "\",\"pc\":\"", 8);
  rc_buf_u64(b, fi->pc, true);
  rc_buf_put(b, "\"}", 2);
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

struct fmt { struct rc_buf *b; const char *indent; };

static void frame_lsan(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct fmt *f = ctx;
  rc_buf_printf(f->b, "%s#%u 0x%lx in %s", f->indent, i, (unsigned long)fi->pc, fi->function[0] ? fi->function : "??");
  if (fi->file) rc_buf_printf(f->b, " %s:%d", fi->file, fi->line);
  rc_buf_printf(f->b, " (%s+0x%lx)\n", fi->module, (unsigned long)fi->offset);
}

static void frame_line(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct fmt *f = ctx;
  if (i) rc_buf_put(f->b, " < ", 3);
  const char *fn = fi->function[0] ? fi->function : "??";
  if (fi->file) rc_buf_printf(f->b, "%s %s:%d", fn, base_name(fi->file), fi->line);
  else rc_buf_printf(f->b, "%s (%s+0x%lx)", fn, base_name(fi->module), (unsigned long)fi->offset);
}

static void frame_json(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct fmt *f = ctx;
  if (i) rc_buf_put(f->b, ",", 1);
  rc_json_frame(f->b, fi);
}

/* A forked copy has no libdw (it may hold locks a stopped thread held): the
 * function comes from the ELF symbol table, and module+offset lets the
 * offline tools symbolize the frame later. */
static void json_raw(struct rc_buf *b, uint32_t stack)
{
  const struct rc_stack *s = rc_depot_get(stack);
  for (uint32_t i = 0; s && i < s->depth; i++) {
    if (i) rc_buf_put(b, ",", 1);
    const char *path = "?", *sym = "";
    uintptr_t bias = 0, start;
    if (rc_module_lookup(s->pc[i], s->gen, &path, &bias))
      rc_elf_sym(path, RC_SYM_FUNC, s->pc[i] - bias - (i ? 1 : 0), &sym, &start);
    rc_buf_put(b, "{\"function\":", 12);
    rc_buf_json_str(b, sym);
    rc_buf_put(b, ",\"module\":", 10);
    rc_buf_json_str(b, path);
    rc_buf_printf(b, ",\"offset\":\"0x%lx\",\"pc\":\"0x%lx\"}", (unsigned long)(s->pc[i] - bias), (unsigned long)s->pc[i]);
  }
}

void rc_stack_format(struct rc_buf *b, uint32_t stack, enum rc_stack_style style, const char *indent, int max_frames)
{
  struct fmt f = {b, indent ? indent : ""};
  uint32_t depth;
  switch (style) {
  case RC_STACK_FRAMES:
    depth = rc_stack_each(stack, max_frames, frame_lsan, &f);
    if (!depth) rc_buf_printf(b, "%s<no stack>\n", f.indent);
    else if (max_frames > 0 && depth > (uint32_t)max_frames)
      rc_buf_printf(b, "%s... (%u more frames)\n", f.indent, depth - (uint32_t)max_frames);
    return;
  case RC_STACK_LINE:
    depth = rc_stack_each(stack, max_frames, frame_line, &f);
    if (!depth) rc_buf_printf(b, "<no stack>");
    else if (max_frames > 0 && depth > (uint32_t)max_frames) rc_buf_put(b, " < ...", 6);
    return;
  case RC_STACK_JSON:
    rc_buf_put(b, "[", 1);
    rc_stack_each(stack, max_frames, frame_json, &f);
    rc_buf_put(b, "]", 1);
    return;
  case RC_STACK_JSON_RAW:
    rc_buf_put(b, "[", 1);
    json_raw(b, stack);
    rc_buf_put(b, "]", 1);
    return;
  }
  RC_DCHECK(!"unknown stack style");
}
