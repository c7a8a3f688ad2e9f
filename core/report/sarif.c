/* The SARIF 2.1.0 report (sarif=PATH): one rule per leak kind, one result
 * per leak group, located at the first allocation frame in the program's own
 * code, so code-scanning viewers point at the caller of malloc, not at libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "report/report.h"

#define RC_SARIF_SCHEMA "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

static void put(struct rc_buf *b, const char *s) { rc_buf_put(b, s, strlen(s)); }

static const char *const rule_id[2] = {"direct-leak", "indirect-leak"};

/* Runtime libraries whose frames are never "the user's code". */
static bool system_module(const char *path)
{
  static const char *const prefixes[] = {"libc.so", "ld-linux", "ld64.so", "libstdc++.so", "libreachcheck.so",
                                         "libgcc_s.so", "libm.so", "libpthread.so", "libdl.so", "libc++.so",
                                         "libc++abi.so", "libgc.so", "libunwind.so"};
  if (!path || !path[0] || !strcmp(path, "?")) return true;
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (!strncmp(base, prefixes[i], strlen(prefixes[i]))) return true;
  return false;
}

/* RFC 3986: keep unreserved characters and '/', percent-encode the rest. */
static void put_uri_path(struct rc_buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || c == '/') {
      rc_buf_put(b, (const char *)&c, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      rc_buf_put(b, e, 3);
    }
  }
}

/* An artifactLocation: relative to %SRCROOT% (the working directory at
 * exit) when the file is under it or relative, else an absolute file URI. */
static void put_artifact(struct rc_buf *b, const char *file, const char *cwd, size_t cwdlen)
{
  put(b, "\"artifactLocation\":{\"uri\":\"");
  if (file[0] != '/') {
    put_uri_path(b, file);
    put(b, "\",\"uriBaseId\":\"SRCROOT\"}");
  } else if (cwdlen > 1 && !strncmp(file, cwd, cwdlen) && file[cwdlen] == '/') {
    put_uri_path(b, file + cwdlen + 1);
    put(b, "\",\"uriBaseId\":\"SRCROOT\"}");
  } else {
    put(b, "file://");
    put_uri_path(b, file);
    put(b, "\"}");
  }
}

/* A location object for one frame: physical (file:line, or the address when
 * there is no line info) and logical (the function). */
static void put_location(struct rc_buf *b, const struct rc_frame_info *fi, const char *cwd, size_t cwdlen)
{
  put(b, "{\"physicalLocation\":{");
  if (fi->file && fi->file[0]) {
    put_artifact(b, fi->file, cwd, cwdlen);
    if (fi->line > 0) rc_buf_printf(b, ",\"region\":{\"startLine\":%d}", fi->line);
  } else {
    rc_buf_printf(b, "\"address\":{\"absoluteAddress\":%llu,\"relativeAddress\":%llu,\"kind\":\"instruction\"}",
                  (unsigned long long)fi->pc, (unsigned long long)fi->offset);
  }
  put(b, "}");
  if (fi->function[0]) {
    put(b, ",\"logicalLocations\":[{\"fullyQualifiedName\":");
    rc_buf_json_str(b, fi->function);
    put(b, ",\"kind\":\"function\"}]");
  }
  put(b, "}");
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return (h ^ 0xff) * 0x100000001b3ull;
}

struct locate { struct rc_frame_info at; uint32_t at_i; bool found; };

static void locate_frame(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct locate *l = ctx;
  if (l->found) return;
  if (i == 0) l->at = *fi;
  if (!system_module(fi->module)) {
    l->at = *fi;
    l->at_i = i;
    l->found = true;
  }
}

struct frames { struct rc_buf *b; const char *cwd; size_t cwdlen; uint64_t fp; };

static void put_frame(void *ctx, uint32_t i, const struct rc_frame_info *fi)
{
  struct frames *f = ctx;
  f->fp = fnv1a(f->fp, fi->function[0] ? fi->function : fi->module);
  put(f->b, i ? ",{\"location\":" : "{\"location\":");
  put_location(f->b, fi, f->cwd, f->cwdlen);
  put(f->b, ",\"module\":");
  rc_buf_json_str(f->b, fi->module);
  put(f->b, "}");
}

/* A result's "stacks": the whole allocation stack, innermost frame first;
 * returns the fingerprint fp extended by the stack's frames. */
static uint64_t put_stack(struct rc_buf *b, uint32_t stack, const char *text, const char *cwd, size_t cwdlen, uint64_t fp)
{
  put(b, ",\"stacks\":[{\"message\":{\"text\":\"");
  put(b, text);
  put(b, "\"},\"frames\":[");
  struct frames fr = {b, cwd, cwdlen, fp};
  rc_stack_each(stack, 0, put_frame, &fr);
  put(b, "]}]");
  return fr.fp;
}

static void put_result(struct rc_buf *b, const struct rc_leak_group *g, const char *cwd, size_t cwdlen)
{
  /* The result's location: the first frame in the user's code, else frame 0. */
  struct locate loc;
  memset(&loc, 0, sizeof loc);
  loc.at.module = "?";
  uint32_t depth = rc_stack_each(g->stack, 0, locate_frame, &loc);
  struct rc_frame_info at = loc.at;
  uint32_t at_i = loc.at_i;
  int kind = g->kind == RC_KIND_INDIRECT;
  rc_buf_printf(b, "{\"ruleId\":\"%s\",\"ruleIndex\":%d,\"level\":\"%s\",\"kind\":\"fail\",\"message\":{\"text\":",
                rule_id[kind], kind, kind ? "warning" : "error");
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s leak of %llu byte(s) in %llu object(s) allocated from %s", kind ? "Indirect" : "Direct",
                   (unsigned long long)g->bytes, (unsigned long long)g->blocks,
                   at.function[0] ? at.function : depth ? "an unknown function" : "an unknown stack");
  if (at.file && n > 0 && (size_t)n < sizeof msg)
    snprintf(msg + n, sizeof msg - (size_t)n, " (%s:%d)", at.file, at.line);
  rc_buf_json_str(b, msg);
  put(b, "},\"locations\":[");
  if (depth) put_location(b, &at, cwd, cwdlen);
  put(b, "]");
  /* The whole allocation stack, innermost frame first. */
  uint64_t fp = fnv1a(0xcbf29ce484222325ull, rule_id[kind]);
  if (depth) fp = put_stack(b, g->stack, "allocation stack", cwd, cwdlen, fp);
  rc_buf_printf(b, ",\"partialFingerprints\":{\"allocationStack/v1\":\"%016llx\"}", (unsigned long long)fp);
  if (g->suppressed) {
    put(b, ",\"suppressions\":[{\"kind\":\"external\",\"justification\":");
    char why[512];
    snprintf(why, sizeof why, "matches suppression pattern %s", g->suppressed_by ? g->suppressed_by : "?");
    rc_buf_json_str(b, why);
    put(b, "}]");
  }
  rc_buf_printf(b, ",\"properties\":{\"blocks\":%llu,\"bytes\":%llu,\"userFrame\":%u}}", (unsigned long long)g->blocks,
                (unsigned long long)g->bytes, at_i);
}

static rc_sarif_growth_fn growth_source;
void rc_sarif_set_growth(rc_sarif_growth_fn fn) { growth_source = fn; }

#define GROWTH_MAX 32

static void put_growth(struct rc_buf *b, const struct rc_sarif_growth *g, const char *cwd, size_t cwdlen)
{
  struct locate loc;
  memset(&loc, 0, sizeof loc);
  loc.at.module = "?";
  uint32_t depth = g->stack ? rc_stack_each(g->stack, 0, locate_frame, &loc) : 0;
  put(b, "{\"ruleId\":\"growing-memory\",\"ruleIndex\":2,\"level\":\"warning\",\"kind\":\"fail\",\"message\":{\"text\":");
  rc_buf_json_str(b, g->message);
  put(b, "},\"locations\":[");
  if (depth) put_location(b, &loc.at, cwd, cwdlen);
  put(b, "]");
  uint64_t fp = fnv1a(0xcbf29ce484222325ull, "growing-memory");
  if (depth) fp = put_stack(b, g->stack, "allocation stack of the growth", cwd, cwdlen, fp);
  fp = fnv1a(fp, g->message);
  rc_buf_printf(b, ",\"partialFingerprints\":{\"growth/v1\":\"%016llx\"},\"properties\":{\"bytesPerSnapshot\":%.3f,"
                   "\"bytesPerSecond\":%.3f}}", (unsigned long long)fp, g->bytes_per_snapshot, g->bytes_per_sec);
}

static void put_rules(struct rc_buf *b)
{
  put(b, "\"rules\":[");
  put(b, "{\"id\":\"direct-leak\",\"name\":\"DirectLeak\","
             "\"shortDescription\":{\"text\":\"Memory leak: a heap block that no root and no other block points to.\"},"
             "\"fullDescription\":{\"text\":\"A block allocated at this site is not reachable from any global, "
             "thread stack, register or thread-local variable, and no other leaked block points to it: "
             "the program lost its last pointer to it without freeing it.\"},"
             "\"defaultConfiguration\":{\"level\":\"error\"},"
             "\"help\":{\"text\":\"Free the block on every path that drops its last pointer, or keep a pointer to "
             "it in a live structure.\"},\"properties\":{\"tags\":[\"memory\",\"leak\"]}},");
  put(b, "{\"id\":\"indirect-leak\",\"name\":\"IndirectLeak\","
             "\"shortDescription\":{\"text\":\"Memory leak: a heap block reachable only from other leaked blocks.\"},"
             "\"fullDescription\":{\"text\":\"A block allocated at this site is not reachable from any root, but "
             "another leaked block points to it: it is lost with its owner. Fixing the direct leak that owns it "
             "usually fixes this one.\"},"
             "\"defaultConfiguration\":{\"level\":\"warning\"},"
             "\"help\":{\"text\":\"Fix the direct leak of the block that owns this one.\"},"
             "\"properties\":{\"tags\":[\"memory\",\"leak\"]}}");
  if (growth_source)
    put(b, ",{\"id\":\"growing-memory\",\"name\":\"GrowingMemory\","
               "\"shortDescription\":{\"text\":\"Memory that keeps growing: a root or heap block retains more at "
               "almost every snapshot.\"},"
               "\"fullDescription\":{\"text\":\"reachcheck --watch sampled the program's reachable heap at fixed "
               "intervals; what this root (or this block, which no single root retains) keeps alive grew in almost "
               "every interval, by more than the noise floor. The location is the allocation site that adds to it.\"},"
               "\"defaultConfiguration\":{\"level\":\"warning\"},"
               "\"help\":{\"text\":\"Bound the structure (evict, cap, expire entries) or stop adding to it.\"},"
               "\"properties\":{\"tags\":[\"memory\",\"growth\"]}}");
  put(b, "]");
}

/* The command line from /proc/self/cmdline, arguments separated by spaces. */
static void put_command_line(struct rc_buf *b)
{
  char cmd[2048];
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, cmd, sizeof cmd - 1);
  close(fd);
  if (n <= 0) return;
  while (n > 0 && cmd[n - 1] == 0) n--;
  for (ssize_t i = 0; i < n; i++)
    if (!cmd[i]) cmd[i] = ' ';
  cmd[n] = 0;
  put(b, ",\"commandLine\":");
  rc_buf_json_str(b, cmd);
}

static void sarif_write(int fd, const struct rc_result *r)
{
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
  size_t cwdlen = strlen(cwd);
  while (cwdlen > 1 && cwd[cwdlen - 1] == '/') cwd[--cwdlen] = 0;
  struct rc_buf b;
  rc_buf_init(&b, fd);
  put(&b, "{\"$schema\":\"" RC_SARIF_SCHEMA "\",\"version\":\"2.1.0\",\"runs\":[{");
  rc_buf_printf(&b, "\"tool\":{\"driver\":{\"name\":\"reachcheck\",\"version\":\"%s\",\"semanticVersion\":\"%s\",",
                rc_version, rc_version);
  put_rules(&b);
  put(&b, "}},\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://");
  put_uri_path(&b, cwd);
  put(&b, cwdlen > 1 ? "/\"}}," : "\"}},");
  rc_buf_printf(&b, "\"invocations\":[{\"executionSuccessful\":true,\"processId\":%d", (int)getpid());
  put_command_line(&b);
  put(&b, "}],\"results\":[");
  const struct rc_leak_group *g = (const struct rc_leak_group *)r->groups.data;
  bool first = true;
  for (size_t i = 0; i < r->groups.len; i++) {
    if (g[i].kind != RC_KIND_DIRECT && g[i].kind != RC_KIND_INDIRECT) continue;
    if (!first) put(&b, ",");
    first = false;
    put_result(&b, &g[i], cwd, cwdlen);
  }
  struct rc_sarif_growth *gr = growth_source ? rc_mmap(GROWTH_MAX * sizeof *gr) : NULL;
  size_t ngr = gr ? growth_source(gr, GROWTH_MAX) : 0;
  for (size_t i = 0; i < ngr; i++) {
    if (!first) put(&b, ",");
    first = false;
    put_growth(&b, &gr[i], cwd, cwdlen);
  }
  if (gr) rc_munmap(gr, GROWTH_MAX * sizeof *gr);
  rc_buf_printf(&b, "],\"properties\":{\"summary\":{\"direct\":{\"blocks\":%llu,\"bytes\":%llu},"
                    "\"indirect\":{\"blocks\":%llu,\"bytes\":%llu},\"reachable\":{\"blocks\":%llu,\"bytes\":%llu},"
                    "\"suppressed\":{\"blocks\":%llu,\"bytes\":%llu}}}}]}\n",
                (unsigned long long)r->direct_blocks, (unsigned long long)r->direct_bytes,
                (unsigned long long)r->indirect_blocks, (unsigned long long)r->indirect_bytes,
                (unsigned long long)r->reachable_blocks, (unsigned long long)r->reachable_bytes,
                (unsigned long long)r->suppressed_blocks, (unsigned long long)r->suppressed_bytes);
  rc_buf_flush(&b);
}

/* Called after the text report; written like the JSON report. */
void rc_sarif_exit(const struct rc_result *r)
{
  if (!rc_opt.sarif || !rc_opt.sarif[0]) return;
  char path[4096];
  if (rc_path_expand(rc_opt.sarif, 0, path, sizeof path) < 0) {
    rc_log("cannot write SARIF report: the path '%.200s...' is too long", rc_opt.sarif);
    return;
  }
  struct rc_out o;
  if (rc_out_open(&o, path, true)) {
    rc_log("cannot write SARIF report '%s' (%s), nor a private copy", path, o.why);
    return;
  }
  sarif_write(o.fd, r);
  if (rc_out_commit(&o)) rc_log("cannot write SARIF report '%s' (%s)", o.path, o.why);
  else if (o.fallback) rc_log("cannot write SARIF report '%s' (%s); wrote it to %s", path, o.why, o.path);
}
