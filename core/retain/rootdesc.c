/* Root names for the reader: "global g_cache (prog)", "stack of thread 12,
 * frame #2 main (a.c:12)", as text and JSON. Report time (world running:
 * libdw and malloc allowed when symbolize), or raw ELF symbols in a forked
 * copy. The roots themselves are collected by retain/rootset.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "retain/retain.h"

static const char *base_name(const char *path)
{
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path ? path : "?";
}

static const char *kind_name(int kind)
{
  switch (kind) {
  case RC_ROOT_GLOBAL: return "global";
  case RC_ROOT_TLS: return "tls";
  case RC_ROOT_STACK: return "stack";
  case RC_ROOT_REGISTER: return "register";
  case RC_ROOT_MAPPING: return "mapping";
  default: return "other";
  }
}

static const char *part_name(int part)
{
  switch (part) {
  case RC_PART_START_ARG: return "thread start argument";
  case RC_PART_SEGMENT: return "global segment";
  case RC_PART_STATIC_TLS: return "static TLS";
  case RC_PART_DTV: return "DTV";
  case RC_PART_STACK: return "stack";
  case RC_PART_REGISTER: return "register";
  default: return "root";
  }
}

/* The function of code address pc (module generation gen) into fn, for
 * both roots that name code (a stack frame, where a mapping was made):
 * symbolized with libdw (module, file and line into d), or in a forked copy
 * the ELF symbol (module into d). ret: pc is a return address, so the call
 * is at pc - 1. False when no name was found (fn is then ""). */
static bool name_pc(uintptr_t pc, uint32_t gen, bool ret, bool symbolize, char *fn, size_t n, struct rc_root_desc *d)
{
  fn[0] = 0;
  if (symbolize) {
    struct rc_frame_info fi;
    rc_symbolize(pc, gen, &fi);
    snprintf(fn, n, "%s", fi.function);
    d->module = fi.module[0] == '?' ? NULL : fi.module;
    d->file = fi.file;
    d->line = fi.line;
    return fn[0] != 0;
  }
  const char *path, *sym;
  uintptr_t bias, start;
  if (!rc_module_lookup(pc, gen, &path, &bias)) return false;
  d->module = path;
  if (!rc_elf_sym(path, RC_SYM_FUNC, pc - bias - (ret ? 1 : 0), &sym, &start)) return false;
  snprintf(fn, n, "%s", sym);
  return true;
}

/* "mapping LO-HI made at FUNC": the first frame of the mmap call's stack
 * (the program's caller of mmap), with its file:line when symbolizing. */
static void describe_mapping(const struct rc_root *r, bool symbolize, struct rc_root_desc *d)
{
  const struct rc_stack *st = r->pc ? rc_depot_get((uint32_t)r->pc) : NULL;
  int n = snprintf(d->name, sizeof d->name, "mapping 0x%lx-0x%lx", (unsigned long)r->key, (unsigned long)r->vaddr);
  if (!st || !st->depth || n < 0 || (size_t)n >= sizeof d->name) return;
  char fn[sizeof d->name];
  bool found = name_pc(st->pc[0], st->gen, true, symbolize, fn, sizeof fn, d);
  /* (a name too long for what is left is cut, as before) */
  if ((symbolize || found) && snprintf(d->name + n, sizeof d->name - (size_t)n, " made at %s", fn[0] ? fn : "??") < 0)
    d->name[n] = 0;
}

/* A global no symbol covers: "prog:.bss (near stats_state+0x40)", the
 * region after the nearest dynamic symbol, or "prog:.bss" before the
 * section's first symbol; "prog+0x4010" without section headers. */
static void region_name(const struct rc_root *r, char *out, size_t n)
{
  struct rc_elf_region reg;
  const char *m = base_name(r->module);
  if (!rc_elf_region(r->module, r->vaddr, &reg))
    snprintf(out, n, "%s+0x%lx", m, (unsigned long)r->vaddr);
  else if (reg.near)
    snprintf(out, n, "%s:%s (near %s+0x%lx)", m, reg.section, reg.near, (unsigned long)reg.near_off);
  else
    snprintf(out, n, "%s:%s", m, reg.section);   /* from the section's start to its first symbol */
}

void rc_root_describe(const struct rc_root *r, bool symbolize, struct rc_root_desc *d)
{
  memset(d, 0, sizeof *d);
  d->kind = kind_name(r->kind);
  d->module = r->module;
  switch (r->sub) {
  case RC_RS_GLOBAL:
    if (r->sym && symbolize && r->module && rc_static_local_name(r->module, r->sym, r->vaddr, d->name, sizeof d->name)) break;
    if (r->sym && symbolize) rc_demangle(r->sym, d->name, sizeof d->name);
    else if (r->sym) snprintf(d->name, sizeof d->name, "%s", r->sym);
    else if (r->module) region_name(r, d->name, sizeof d->name);
    else snprintf(d->name, sizeof d->name, "0x%lx", (unsigned long)r->key);
    break;
  case RC_RS_TLS:
    if (r->sym && symbolize) rc_demangle(r->sym, d->name, sizeof d->name);
    else if (r->sym) snprintf(d->name, sizeof d->name, "%s", r->sym);
    else snprintf(d->name, sizeof d->name, "TLS of thread %d", (int)r->thread);
    break;
  case RC_RS_TLS_DESC: snprintf(d->name, sizeof d->name, "descriptor of thread %d", (int)r->thread); break;
  case RC_RS_DTV: snprintf(d->name, sizeof d->name, "DTV of thread %d", (int)r->thread); break;
  case RC_RS_STACK: {
    d->name[0] = 0;
    if (r->pc) name_pc(r->pc, r->gen, r->frame != 0, symbolize, d->name, sizeof d->name, d);
    break;
  }
  case RC_RS_REGISTER: snprintf(d->name, sizeof d->name, "%s", rc_reg_name(r->reg)); break;
  case RC_RS_LDSO: snprintf(d->name, sizeof d->name, "ld.so allocations"); break;
  case RC_RS_IGNORED: snprintf(d->name, sizeof d->name, "reachcheck_ignore()d blocks"); break;
  case RC_RS_MAPPING: describe_mapping(r, symbolize, d); break;
  default: snprintf(d->name, sizeof d->name, "%s", part_name(r->part)); break;
  }
  if (!d->name[0]) snprintf(d->name, sizeof d->name, "thread %d stack", (int)r->thread);
}

void rc_root_json(struct rc_buf *b, const struct rc_root *r, bool symbolize, long offset)
{
  struct rc_root_desc d;
  rc_root_describe(r, symbolize, &d);
  rc_buf_printf(b, "{\"kind\":\"%s\",\"name\":", d.kind);
  rc_buf_json_str(b, d.name);
  rc_buf_put(b, ",\"module\":", 10);
  if (d.module) rc_buf_json_str(b, d.module);
  else rc_buf_put(b, "null", 4);
  if (r->thread) rc_buf_printf(b, ",\"thread\":%d", (int)r->thread);
  else rc_buf_put(b, ",\"thread\":null", 14);
  if (r->sub == RC_RS_STACK) {
    const char *path;
    uintptr_t bias = 0;
    bool known = r->pc && rc_module_lookup(r->pc, r->gen, &path, &bias);
    rc_buf_printf(b, ",\"frame\":%u,\"pc\":\"0x%lx\",\"offset_in_module\":\"0x%lx\"", (unsigned)r->frame,
                  (unsigned long)r->pc, (unsigned long)(known ? r->pc - bias : 0));
    if (d.file) {
      rc_buf_put(b, ",\"file\":", 8);
      rc_buf_json_str(b, d.file);
      rc_buf_printf(b, ",\"line\":%d", d.line);
    }
  }
  if (r->sub == RC_RS_MAPPING && d.file) {
    rc_buf_put(b, ",\"file\":", 8);
    rc_buf_json_str(b, d.file);
    rc_buf_printf(b, ",\"line\":%d", d.line);
  }
  if (r->sub == RC_RS_GLOBAL && !r->sym && r->module) rc_buf_printf(b, ",\"vaddr\":\"0x%lx\"", (unsigned long)r->vaddr);
  if (offset >= 0) rc_buf_printf(b, ",\"offset\":%ld", offset);
  rc_buf_put(b, "}", 1);
}

void rc_root_text(struct rc_buf *b, const struct rc_root *r)
{
  struct rc_root_desc d;
  rc_root_describe(r, true, &d);
  switch (r->sub) {
  case RC_RS_GLOBAL:
    if (!r->sym && r->module) rc_buf_printf(b, "global %s", d.name);   /* the name has the module */
    else rc_buf_printf(b, "global %s (%s)", d.name, base_name(d.module));
    break;
  case RC_RS_TLS:
    if (r->sym) rc_buf_printf(b, "tls %s (%s) of thread %d", d.name, base_name(d.module), (int)r->thread);
    else rc_buf_printf(b, "tls %s", d.name);
    break;
  case RC_RS_TLS_DESC: case RC_RS_DTV: rc_buf_printf(b, "tls %s", d.name); break;
  case RC_RS_STACK:
    rc_buf_printf(b, "stack of thread %d, frame #%u %s", (int)r->thread, (unsigned)r->frame, d.name);
    if (d.file) rc_buf_printf(b, " %s:%d", d.file, d.line);
    break;
  case RC_RS_REGISTER: rc_buf_printf(b, "register %s of thread %d", d.name, (int)r->thread); break;
  case RC_RS_MAPPING:
    rc_buf_printf(b, "%s", d.name);
    if (d.file) rc_buf_printf(b, " %s:%d", d.file, d.line);
    else if (d.module) rc_buf_printf(b, " (%s)", base_name(d.module));
    break;
  default: rc_buf_printf(b, "other: %s", d.name); break;
  }
}
