/* The unwind tables: for a return address, its module's .eh_frame_hdr
 * (binary search), the FDE and CIE it names, and a minimal CFA interpreter
 * run to the row that covers the address, reduced to one 32-bit rule
 * (unwind_internal.h) or a reason to leave the frame to libunwind. Only
 * rsp/rbp-based CFAs and rules for rbp and the return address are kept. */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>
#include "stack/unwind_internal.h"

/* ---- DWARF reading (.eh_frame_hdr, CIE, FDE) ---- */
enum {
  PE_absptr = 0x00, PE_uleb128 = 0x01, PE_udata2 = 0x02, PE_udata4 = 0x03, PE_udata8 = 0x04,
  PE_sleb128 = 0x09, PE_sdata2 = 0x0a, PE_sdata4 = 0x0b, PE_sdata8 = 0x0c,
  PE_pcrel = 0x10, PE_datarel = 0x30, PE_indirect = 0x80, PE_omit = 0xff,
};

struct rd { const uint8_t *p, *end; bool bad; };

static uint64_t rd_n(struct rd *r, size_t n)
{
  uint64_t v = 0;
  if ((size_t)(r->end - r->p) < n) { r->bad = true; r->p = r->end; return 0; }
  memcpy(&v, r->p, n);   /* little-endian */
  r->p += n;
  return v;
}
static uint8_t rd_u8(struct rd *r) { return (uint8_t)rd_n(r, 1); }
static uint64_t rd_uleb(struct rd *r)
{
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (r->p >= r->end || shift > 63) { r->bad = true; return 0; }
    uint8_t b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}
static int64_t rd_sleb(struct rd *r)
{
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    if (r->p >= r->end || shift > 63) { r->bad = true; return 0; }
    b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  return (int64_t)v;
}
/* A pointer in encoding enc; datarel is relative to `data`. Indirect
 * pointers are not followed (only personality routines use them, and those
 * are skipped). */
static uintptr_t rd_ptr(struct rd *r, uint8_t enc, uintptr_t data)
{
  uintptr_t at = (uintptr_t)r->p, v;
  switch (enc & 0x0f) {
  case PE_absptr: case PE_udata8: case PE_sdata8: v = (uintptr_t)rd_n(r, 8); break;
  case PE_uleb128: v = (uintptr_t)rd_uleb(r); break;
  case PE_sleb128: v = (uintptr_t)rd_sleb(r); break;
  case PE_udata2: v = (uintptr_t)rd_n(r, 2); break;
  case PE_sdata2: v = (uintptr_t)(int64_t)(int16_t)rd_n(r, 2); break;
  case PE_udata4: v = (uintptr_t)rd_n(r, 4); break;
  case PE_sdata4: v = (uintptr_t)(int64_t)(int32_t)rd_n(r, 4); break;
  default: r->bad = true; return 0;
  }
  switch (enc & 0x70) {
  case 0: break;
  case PE_pcrel: v += at; break;
  case PE_datarel: v += data; break;
  default: r->bad = true;   /* textrel, funcrel, aligned: not used on x86-64 Linux */
  }
  return v;
}

/* ---- CFA interpreter: only rsp/rbp-based CFAs, the callee-saved
 * registers (rbp for the allocation walks, all of them for the exit's,
 * rc_cfi_row) and the RA ---- */
enum { DW_RBX = 3, DW_RBP = 6, DW_RSP = 7, DW_R12 = 12, DW_R15 = 15, DW_RA = 16 };
enum { HOW_SAME = RC_CFI_SAME, HOW_UNDEF = RC_CFI_UNDEF, HOW_OFFSET = RC_CFI_OFFSET, HOW_OTHER = RC_CFI_OTHER };
struct reg_rule { uint8_t how; int64_t off; };
struct cfa_state {
  uint64_t cfa_reg;
  int64_t cfa_off;
  bool cfa_expr;
  struct reg_rule rbp, ra;
  struct reg_rule rbx, r12_15[4];
  uintptr_t fde_lo, fde_hi;   /* the code the FDE describes (row_from_fde) */
};
struct cie {
  uint64_t code_align;
  int64_t data_align;
  uint8_t fde_enc;
  bool has_z, signal;
  const uint8_t *insns, *end;
};
#define REMEMBER_MAX 8

static struct reg_rule *reg_of(struct cfa_state *s, uint64_t reg)
{
  if (reg == DW_RBP) return &s->rbp;
  if (reg == DW_RA) return &s->ra;
  if (reg == DW_RBX) return &s->rbx;
  return reg >= DW_R12 && reg <= DW_R15 ? &s->r12_15[reg - DW_R12] : NULL;
}
static void set_rule(struct cfa_state *s, uint64_t reg, uint8_t how, int64_t off)
{
  struct reg_rule *r = reg_of(s, reg);
  if (r) { r->how = how; r->off = off; }
}

/* Run CFA instructions until the row that covers `target`. Returns false on
 * an opcode outside the supported subset or malformed input. */
static bool run_cfa(struct rd *r, uintptr_t *loc, uintptr_t target, struct cfa_state *s,
                    const struct cfa_state *init, const struct cie *c)
{
  struct cfa_state saved[REMEMBER_MAX];
  int depth = 0;
  while (r->p < r->end && !r->bad) {
    uint8_t op = rd_u8(r);
    uint64_t reg, delta;
    switch (op >> 6) {
    case 1:  /* DW_CFA_advance_loc */
      delta = (op & 0x3f) * c->code_align;
      goto advance;
    case 2:  /* DW_CFA_offset */
      set_rule(s, op & 0x3f, HOW_OFFSET, (int64_t)rd_uleb(r) * c->data_align);
      continue;
    case 3:  /* DW_CFA_restore */
      reg = op & 0x3f;
      goto restore;
    }
    switch (op) {
    case 0x00: continue;                                  /* nop */
    case 0x01: {                                          /* set_loc */
      uintptr_t to = rd_ptr(r, c->fde_enc, 0);
      if (to > target) return !r->bad;
      *loc = to;
      continue;
    }
    case 0x02: delta = rd_n(r, 1) * c->code_align; goto advance;
    case 0x03: delta = rd_n(r, 2) * c->code_align; goto advance;
    case 0x04: delta = rd_n(r, 4) * c->code_align; goto advance;
    case 0x05:                                            /* offset_extended */
      reg = rd_uleb(r);
      set_rule(s, reg, HOW_OFFSET, (int64_t)rd_uleb(r) * c->data_align);
      continue;
    case 0x06: reg = rd_uleb(r); goto restore;            /* restore_extended */
    case 0x07: set_rule(s, rd_uleb(r), HOW_UNDEF, 0); continue;
    case 0x08: set_rule(s, rd_uleb(r), HOW_SAME, 0); continue;
    case 0x09:                                            /* register */
      reg = rd_uleb(r);
      rd_uleb(r);
      set_rule(s, reg, HOW_OTHER, 0);
      continue;
    case 0x0a:                                            /* remember_state */
      if (depth == REMEMBER_MAX) return false;
      saved[depth++] = *s;
      continue;
    case 0x0b:                                            /* restore_state */
      if (depth == 0) return false;
      *s = saved[--depth];   /* CFA included: gcc relies on it after an epilogue */
      continue;
    case 0x0c:                                            /* def_cfa */
      s->cfa_reg = rd_uleb(r);
      s->cfa_off = (int64_t)rd_uleb(r);
      s->cfa_expr = false;
      continue;
    case 0x0d: s->cfa_reg = rd_uleb(r); s->cfa_expr = false; continue;
    case 0x0e: s->cfa_off = (int64_t)rd_uleb(r); continue;
    case 0x0f:                                            /* def_cfa_expression */
      delta = rd_uleb(r);
      if (delta > (uint64_t)(r->end - r->p)) return false;
      r->p += delta;
      s->cfa_expr = true;
      continue;
    case 0x10:                                            /* expression */
    case 0x16:                                            /* val_expression */
      reg = rd_uleb(r);
      delta = rd_uleb(r);
      if (delta > (uint64_t)(r->end - r->p)) return false;
      r->p += delta;
      set_rule(s, reg, HOW_OTHER, 0);
      continue;
    case 0x11:                                            /* offset_extended_sf */
      reg = rd_uleb(r);
      set_rule(s, reg, HOW_OFFSET, rd_sleb(r) * c->data_align);
      continue;
    case 0x12:                                            /* def_cfa_sf */
      s->cfa_reg = rd_uleb(r);
      s->cfa_off = rd_sleb(r) * c->data_align;
      s->cfa_expr = false;
      continue;
    case 0x13: s->cfa_off = rd_sleb(r) * c->data_align; continue;  /* def_cfa_offset_sf */
    case 0x14:                                            /* val_offset */
      reg = rd_uleb(r);
      rd_uleb(r);
      set_rule(s, reg, HOW_OTHER, 0);
      continue;
    case 0x15:                                            /* val_offset_sf */
      reg = rd_uleb(r);
      rd_sleb(r);
      set_rule(s, reg, HOW_OTHER, 0);
      continue;
    case 0x2e: rd_uleb(r); continue;                      /* GNU_args_size: rsp only */
    case 0x2f:                                            /* GNU_negative_offset_extended */
      reg = rd_uleb(r);
      set_rule(s, reg, HOW_OFFSET, -(int64_t)rd_uleb(r) * c->data_align);
      continue;
    default:
      return false;
    }
  advance:
    if (*loc + delta > target) return !r->bad;
    *loc += delta;
    continue;
  restore: {
      struct reg_rule *d = reg_of(s, reg);
      const struct reg_rule *from = init ? reg_of((struct cfa_state *)init, reg) : NULL;
      if (d) *d = from ? *from : (struct reg_rule){ HOW_SAME, 0 };
      continue;
    }
  }
  return !r->bad;
}

static bool parse_cie(const uint8_t *cie, const uint8_t *limit, struct cie *c)
{
  struct rd r = { cie, limit, false };
  uint64_t len = rd_n(&r, 4);
  if (len == 0xffffffffu) len = rd_n(&r, 8);
  if (r.bad || len > (uint64_t)(limit - r.p)) return false;
  r.end = r.p + len;
  if (rd_n(&r, 4) != 0) return false;   /* CIE id in .eh_frame */
  uint8_t version = rd_u8(&r);
  if (version != 1 && version != 3) return false;
  const char *aug = (const char *)r.p;
  size_t alen = strnlen(aug, (size_t)(r.end - r.p));
  if (alen == (size_t)(r.end - r.p)) return false;
  r.p += alen + 1;
  c->code_align = rd_uleb(&r);
  c->data_align = rd_sleb(&r);
  uint64_t ra = version == 1 ? rd_u8(&r) : rd_uleb(&r);
  if (ra != DW_RA) return false;
  c->fde_enc = PE_absptr;
  c->has_z = false;
  c->signal = false;
  if (aug[0] == 'z') {
    c->has_z = true;
    uint64_t zlen = rd_uleb(&r);
    if (r.bad || zlen > (uint64_t)(r.end - r.p)) return false;
    const uint8_t *zend = r.p + zlen;
    for (const char *a = aug + 1; *a; a++) {
      if (*a == 'R') c->fde_enc = rd_u8(&r);
      else if (*a == 'L') rd_u8(&r);
      else if (*a == 'P') { uint8_t e = rd_u8(&r); rd_ptr(&r, e & 0x7f, 0); }
      else if (*a == 'S') c->signal = true;
      else return false;
    }
    if (r.bad || r.p > zend) return false;
    r.p = zend;
  } else if (aug[0]) {
    return false;   /* "eh" and other pre-'z' forms */
  }
  c->insns = r.p;
  c->end = r.end;
  return !r.bad;
}

/* The row of the FDE at fde for address target into *s; 0, or the
 * fallback rule that says why not. */
static uint32_t row_from_fde(const uint8_t *fde, const uint8_t *limit, uintptr_t target, struct cfa_state *s)
{
  struct rd r = { fde, limit, false };
  uint64_t len = rd_n(&r, 4);
  if (len == 0xffffffffu) len = rd_n(&r, 8);
  if (r.bad || len == 0 || len > (uint64_t)(limit - r.p)) return R_FALLBACK(FB_NOINFO);
  r.end = r.p + len;
  const uint8_t *idp = r.p;
  uint32_t cie_off = (uint32_t)rd_n(&r, 4);
  if (cie_off == 0 || cie_off > (uintptr_t)idp) return R_FALLBACK(FB_UNSUPPORTED);
  struct cie c;
  /* the CIE precedes its FDEs in the same .eh_frame */
  if (!parse_cie(idp - cie_off, idp, &c)) return R_FALLBACK(FB_UNSUPPORTED);
  uintptr_t begin = rd_ptr(&r, c.fde_enc, 0);
  uintptr_t range = rd_ptr(&r, c.fde_enc & 0x0f, 0);
  if (r.bad) return R_FALLBACK(FB_UNSUPPORTED);
  if (target - begin >= range) return R_FALLBACK(FB_NOINFO);
  if (c.signal) return R_FALLBACK(FB_UNSUPPORTED);   /* __restore_rt: libunwind knows */
  if (c.has_z) {
    uint64_t z = rd_uleb(&r);
    if (r.bad || z > (uint64_t)(r.end - r.p)) return R_FALLBACK(FB_UNSUPPORTED);
    r.p += z;
  }
  *s = (struct cfa_state){ .cfa_reg = DW_RSP, .cfa_off = 8, .fde_lo = begin, .fde_hi = begin + range };   /* registers: HOW_SAME (0) */
  uintptr_t loc = begin;
  struct rd ci = { c.insns, c.end, false };
  if (!run_cfa(&ci, &loc, UINTPTR_MAX, s, NULL, &c)) return R_FALLBACK(FB_UNSUPPORTED);
  struct cfa_state init = *s;
  loc = begin;
  if (!run_cfa(&r, &loc, target, s, &init, &c)) return R_FALLBACK(FB_UNSUPPORTED);
  return 0;
}

/* The rule for return address target+1, from the FDE at fde. */
static uint32_t rule_from_fde(const uint8_t *fde, const uint8_t *limit, uintptr_t target)
{
  struct cfa_state st;
  const struct cfa_state *s = &st;
  uint32_t fail = row_from_fde(fde, limit, target, &st);
  if (fail) return fail;
  /* libunwind (1.6.2 unw_step): an undefined RA or rbp ends the chain */
  if (s->ra.how == HOW_UNDEF || s->rbp.how == HOW_UNDEF) return K_END;
  if (s->cfa_expr || (s->cfa_reg != DW_RSP && s->cfa_reg != DW_RBP)) return R_FALLBACK(FB_UNSUPPORTED);
  if (s->cfa_off < 8 || s->cfa_off > (int64_t)MAX_CFA_OFF) return R_FALLBACK(FB_UNSUPPORTED);
  if (s->ra.how != HOW_OFFSET || s->ra.off != -8) return R_FALLBACK(FB_UNSUPPORTED);
  uint32_t slot = 0;   /* rbp saved at CFA - 8 * slot */
  if (s->rbp.how == HOW_OFFSET) {
    if (s->rbp.off >= 0 || (s->rbp.off & 7) || -s->rbp.off / 8 > (int64_t)R_SLOT_MAX) return R_FALLBACK(FB_UNSUPPORTED);
    slot = (uint32_t)(-s->rbp.off / 8);
  } else if (s->rbp.how != HOW_SAME) {
    return R_FALLBACK(FB_UNSUPPORTED);
  }
  uint32_t rule = rule_make(s->cfa_reg == DW_RBP, (uint32_t)s->cfa_off, slot);
  RC_DCHECK(!(rule & R_SPECIAL) && R_CFA_OFF(rule) == (uint32_t)s->cfa_off && R_SLOT(rule) == slot);
  return rule;
}

/* Binary search of .eh_frame_hdr's table (initial location, FDE), both
 * datarel sdata4 as every linker since 2004 writes them; the rule for
 * target from that FDE, or with row its whole row (and 0). */
static uint32_t rule_from_hdr(const uint8_t *hdr, size_t size, uintptr_t target, struct cfa_state *row)
{
  struct rd r = { hdr, hdr + size, false };
  if (rd_u8(&r) != 1) return R_FALLBACK(FB_UNSUPPORTED);
  uint8_t ptr_enc = rd_u8(&r), cnt_enc = rd_u8(&r), tab_enc = rd_u8(&r);
  rd_ptr(&r, ptr_enc, (uintptr_t)hdr);
  if (cnt_enc == PE_omit || tab_enc != (PE_datarel | PE_sdata4)) return R_FALLBACK(FB_UNSUPPORTED);
  uintptr_t count = rd_ptr(&r, cnt_enc, (uintptr_t)hdr);
  if (r.bad || count > (size_t)(r.end - r.p) / 8) return R_FALLBACK(FB_UNSUPPORTED);
  const uint8_t *tab = r.p;
  size_t lo = 0, hi = count;   /* find the last entry with start <= target */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int32_t start;
    memcpy(&start, tab + mid * 8, 4);
    if ((uintptr_t)hdr + (intptr_t)start <= target) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return R_FALLBACK(FB_NOINFO);
  int32_t fde;
  memcpy(&fde, tab + (lo - 1) * 8 + 4, 4);
  /* no bound on .eh_frame here: the FDE's own length delimits it */
  if (row) return row_from_fde(hdr + fde, (const uint8_t *)UINTPTR_MAX - 1, target, row);
  return rule_from_fde(hdr + fde, (const uint8_t *)UINTPTR_MAX - 1, target);
}

struct find { uintptr_t target; uint32_t rule; struct cfa_state *row; };

/* Runs under ld.so's dl_load_write_lock: the module cannot be unmapped
 * while its unwind tables are read. */
static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
  struct find *f = arg;
  const ElfW(Phdr) *eh = NULL;
  bool in = false;
  for (size_t i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD && f->target - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz) in = true;
    else if (ph->p_type == PT_GNU_EH_FRAME) eh = ph;
  }
  if (!in) return 0;
  f->rule = eh ? rule_from_hdr((const uint8_t *)(info->dlpi_addr + eh->p_vaddr), eh->p_memsz, f->target, f->row)
               : R_FALLBACK(FB_NOINFO);
  return 1;
}

uint32_t rc_cfi_rule(uintptr_t pc)
{
  struct find f = { pc - 1, 0, NULL };
  dl_iterate_phdr(find_module, &f);
  return f.rule;
}

bool rc_cfi_row(uintptr_t at, struct rc_cfi_row *out)
{
  struct cfa_state s;
  struct find f = { at, R_FALLBACK(FB_NOMODULE), &s };
  dl_iterate_phdr(find_module, &f);
  if (f.rule || s.cfa_expr || (s.cfa_reg != DW_RSP && s.cfa_reg != DW_RBP)) return false;
  out->cfa_rbp = s.cfa_reg == DW_RBP;
  out->cfa_off = s.cfa_off;
  out->fn_lo = s.fde_lo;
  out->fn_hi = s.fde_hi;
  const struct reg_rule *r[RC_CFI_NREGS] = {&s.rbx, &s.rbp, &s.r12_15[0], &s.r12_15[1], &s.r12_15[2], &s.r12_15[3], &s.ra};
  for (int i = 0; i < RC_CFI_NREGS; i++) {
    out->how[i] = r[i]->how;
    out->off[i] = r[i]->off;
  }
  return true;
}

int rc_unwind_rule_test(uintptr_t pc, int *cfa_rbp, int *cfa_off, int *rbp_slot)
{
  uint32_t r = rc_cfi_rule(pc);
  if (!r || (r & R_SPECIAL)) return r == K_END ? 0 : -1;
  *cfa_rbp = !!(r & R_CFA_RBP);
  *cfa_off = (int)R_CFA_OFF(r);
  *rbp_slot = r & R_RBP_SAVED ? (int)R_SLOT(r) : 0;
  return 1;
}
