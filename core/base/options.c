/* Options from REACHCHECK_OPTIONS ("key=value:key=value", as the sanitizers
 * take them) and from the launcher's --key=value flags, generated from
 * options.inc. A bad key or value is one line naming it, never a guess. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base.h"

struct rc_options rc_opt = {
#define RC_OPTION(type, name, def, help) .name = def,
#include "options.inc"
#undef RC_OPTION
};

enum { T_BOOL, T_INT, T_STR };
struct opt_desc { const char *name; int type; void *field; const char *help; const char *def; };

static const struct opt_desc table[] = {
#define RC_OPTION(type, name, def, help) {#name, T_##type, &rc_opt.name, help, #def},
#include "options.inc"
#undef RC_OPTION
};
#define NOPT (sizeof table / sizeof table[0])

static const struct opt_desc *find(const char *k, size_t n)
{
  for (size_t i = 0; i < NOPT; i++)
    if (strlen(table[i].name) == n && !memcmp(table[i].name, k, n)) return &table[i];
  return NULL;
}

int rc_option_known(const char *name, size_t len) { return find(name, len) != NULL; }

/* At most n bytes of s, control characters shown as '?': an error message
 * stays one line whatever was typed. */
static const char *printable(char *out, size_t outn, const char *s, size_t n)
{
  size_t i = 0;
  for (; i < n && i + 1 < outn; i++) out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  out[i] = 0;
  return out;
}

static int bad(char *err, size_t errlen, const char *what, const char *k, size_t kn, const char *v,
               size_t vn)
{
  char pk[256], pv[256];
  snprintf(err, errlen, "%s option '%s=%s'", what, printable(pk, sizeof pk, k, kn), printable(pv, sizeof pv, v, vn));
  return -1;
}

static int range_ok(const char *name, long v)
{
  if (!strcmp(name, "stack_depth")) return v >= 1 && v <= RC_MAX_FRAMES;
  if (!strcmp(name, "exitcode")) return v >= 0 && v <= 255;
  if (!strcmp(name, "stop_signal")) return v == 0 || (v >= 1 && v <= 64 && v != 9 && v != 19);
  if (!strcmp(name, "huge_pages")) return v >= -1;   /* -1: decided by the machine (core/heap/hugepage.c) */
  return v >= 0;
}

static int set_one(const char *k, size_t kn, const char *v, size_t vn, char *err, size_t errlen)
{
  const struct opt_desc *d = find(k, kn);
  if (!d) return bad(err, errlen, "unknown", k, kn, v, vn);
  char val[4096];
  if (vn >= sizeof val) return bad(err, errlen, "too long value for", k, kn, v, 40);
  memcpy(val, v, vn);
  val[vn] = 0;
  if (d->type == T_STR) {
    *(const char **)d->field = rc_strdup_internal(val);
    return 0;
  }
  if (vn == 0) return bad(err, errlen, "empty value for", k, kn, v, vn);
  char *end;
  errno = 0;
  long x = strtol(val, &end, 10);
  if (*end || errno) return bad(err, errlen, "bad value for", k, kn, v, vn);
  if (d->type == T_BOOL) {
    if (x != 0 && x != 1) return bad(err, errlen, "bad value (want 0 or 1) for", k, kn, v, vn);
    *(int *)d->field = (int)x;
  } else {
    if (!range_ok(d->name, x)) return bad(err, errlen, "out-of-range value for", k, kn, v, vn);
    *(long *)d->field = x;
  }
  return 0;
}

int rc_options_parse(const char *s, char *err, size_t errlen)
{
  while (s && *s) {
    const char *e = strchr(s, ':');
    /* http=HOST:PORT and http=unix:/PATH: segments without '=' after it
     * are its value's (issue 13) */
    if (!strncmp(s, "http=", 5))
      while (e && e[1] && !memchr(e + 1, '=', strcspn(e + 1, ":"))) e = strchr(e + 1, ':');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n) {
      const char *eq = memchr(s, '=', n);
      if (!eq) {
        char pk[256];
        snprintf(err, errlen, "option '%s' has no '=value'", printable(pk, sizeof pk, s, n));
        return -1;
      }
      if (set_one(s, (size_t)(eq - s), eq + 1, n - (size_t)(eq - s) - 1, err, errlen)) return -1;
    }
    s = e ? e + 1 : NULL;
  }
  return 0;
}

void rc_options_help(int fd)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, "reachcheck options (REACHCHECK_OPTIONS=key=value:key=value, or --key=value):\n");
  for (size_t i = 0; i < NOPT; i++) {
    const char *def = table[i].def;
    rc_buf_printf(&b, "  %-16s (default %s) %s\n", table[i].name, def, table[i].help);
  }
  rc_buf_flush(&b);
}

/* The README's option table, generated from the same list. */
void rc_options_markdown(int fd)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, "| option | default | meaning |\n|---|---|---|\n");
  for (size_t i = 0; i < NOPT; i++) {
    const char *def = table[i].def;
    rc_buf_printf(&b, "| `%s` | `%s` | %s |\n", table[i].name, def[0] == '"' && def[1] == '"' ? "\"\"" : def,
                  table[i].help);
  }
  rc_buf_flush(&b);
}

/* reachcheck(1), generated from the same list (`reachcheck --help-man`;
 * the build writes it to reachcheck.1 and installs it). */
static void roff(struct rc_buf *b, const char *s)
{
  for (; *s; s++) {
    if (*s == '\\') rc_buf_put(b, "\\e", 2);
    else if (*s == '-') rc_buf_put(b, "\\-", 2);
    else if (*s == '`') continue;
    else rc_buf_put(b, s, 1);
  }
}

void rc_options_man(int fd, const char *version)
{
  struct rc_buf b;
  rc_buf_init(&b, fd);
  rc_buf_printf(&b, ".TH REACHCHECK 1 \"\" \"reachcheck %s\" \"User Commands\"\n", version);
  rc_buf_printf(&b, ".SH NAME\nreachcheck \\- conservative reachability-based leak checker for C and C++\n");
  rc_buf_printf(&b, ".SH SYNOPSIS\n.B reachcheck\n[\\fB\\-\\-\\fR\\fIOPTION\\fR=\\fIVALUE\\fR ...] [\\fB\\-\\-\\fR] "
                    "\\fIPROGRAM\\fR [\\fIARGS\\fR...]\n.br\n.B reachcheck diff\n\\fIOLD.snap.json\\fR "
                    "\\fINEW.snap.json\\fR [\\fB\\-\\-json\\fR]\n.br\n.B reachcheck graph\n\\fIFILE.json\\fR "
                    "\\fB\\-\\-dot\\fR|\\fB\\-\\-html\\fR \\fB\\-o\\fR \\fIFILE\\fR\n");
  rc_buf_printf(&b, ".SH DESCRIPTION\nRuns \\fIPROGRAM\\fR with libreachcheck.so preloaded. The runtime owns the heap, "
                    "records each block's allocation stack and, at exit, marks every block reachable from the roots "
                    "(globals, thread stacks and registers, TLS, mappings the program made). Blocks nobody reaches are "
                    "reported as leaks on stderr and, with \\fBjson\\fR=\\fIPATH\\fR, as JSON. The exit status is "
                    "23 when unsuppressed leaks were found, the program's own otherwise.\n");
  rc_buf_printf(&b, ".SH OPTIONS\nEach option is given as \\fB\\-\\-\\fR\\fIkey\\fR=\\fIvalue\\fR, or in the "
                    "environment as \\fBREACHCHECK_OPTIONS\\fR=\\fIkey\\fR=\\fIvalue\\fR:\\fIkey\\fR=\\fIvalue\\fR.\n");
  for (size_t i = 0; i < NOPT; i++) {
    rc_buf_printf(&b, ".TP\n.B ");
    roff(&b, table[i].name);
    rc_buf_printf(&b, " \\fR(default \\fI");
    roff(&b, table[i].def);
    rc_buf_printf(&b, "\\fR)\n");
    roff(&b, table[i].help);
    rc_buf_printf(&b, "\n");
  }
  rc_buf_printf(&b, ".SH ENVIRONMENT\n.TP\n.B REACHCHECK_OPTIONS\nOptions as above; they win over the two below.\n"
                    ".TP\n.B LSAN_OPTIONS\nLeakSanitizer's options: exitcode, suppressions, report_objects, use_globals, "
                    "use_stacks, use_registers, use_tls, use_unaligned, use_root_regions, max_leaks, detect_leaks, "
                    "leak_check_at_exit, log_path, include; its other flags are ignored.\n"
                    ".TP\n.B HEAPCHECK\ngperftools' whole-program mode: minimal, normal, strict, draconian, as-is "
                    "or local.\n");
  rc_buf_printf(&b, ".SH SEE ALSO\nThe README and docs/ of reachcheck; \\fBvalgrind\\fR(1).\n");
  rc_buf_flush(&b);
}
