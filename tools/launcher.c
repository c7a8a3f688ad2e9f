/* `reachcheck [--key=value ...] [--] PROG ARGS`: validate the options, preload
 * libreachcheck.so and exec the program. Options are the ones of
 * core/base/options.inc, merged after REACHCHECK_OPTIONS (flags win). */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/base.h"
#include "tool_common.h"
#include "tools.h"
#include "base/http_addr.h"

static void usage(FILE *f)
{
  fprintf(f,
          "usage: reachcheck [--OPTION=VALUE ...] [--] PROGRAM [ARGS...]\n"
          "       reachcheck diff OLD.snap.json NEW.snap.json [--json]\n"
          "       reachcheck graph SNAPSHOT_OR_REPORT.json --dot|--html -o FILE\n"
          "       reachcheck pprof SNAPSHOT_OR_REPORT.json -o FILE\n"
          "       reachcheck top FILE|URL [--base=OLD] [--sample_index=NAME] [--nodecount=N]\n"
          "       reachcheck list REGEX FILE|URL [--base=OLD] [--sample_index=NAME]\n"
          "       reachcheck --help | --help-markdown | --help-man | --version\n"
          "Runs PROGRAM with libreachcheck.so preloaded; at exit, leaked blocks are\n"
          "reported on stderr (and as JSON with --json=PATH). Exit status 23 if leaks\n"
          "were found (--exitcode=N), the program's own status otherwise.\n\n");
  fflush(f);
  rc_options_help(fileno(f));
}

static int find_runtime(char *out, size_t n)
{
  char self[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
  if (k <= 0) return -1;
  self[k] = 0;
  const char *dir = dirname(self);
  const char *cands[] = {"%s/libreachcheck.so", "%s/../lib/libreachcheck.so", "%s/../lib/reachcheck/libreachcheck.so"};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
    snprintf(out, n, cands[i], dir);
    if (!access(out, R_OK)) {
      char real[PATH_MAX];
      if (realpath(out, real)) snprintf(out, n, "%s", real);
      return 0;
    }
  }
  return -1;
}

enum { GO_ON = -1 };

/* REACHCHECK_OPTIONS, then the --key=value flags before the program, into
 * opts as "k=v:k=v"; *prog is the index of the program's name. GO_ON, or
 * the exit status (--help, --version, or one line naming a bad flag). */
static int collect_flags(int argc, char **argv, char *opts, size_t size, int *prog)
{
  const char *env = getenv("REACHCHECK_OPTIONS");
  size_t len = (size_t)snprintf(opts, size, "%s", env ? env : "");
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--help-markdown")) {
      rc_options_markdown(1);
      return 0;
    }
    if (!strcmp(a, "--help-man")) {
      rc_options_man(1, rc_version);
      return 0;
    }
    if (!strcmp(a, "--version")) {
      printf("reachcheck %s\n", rc_version);
      return 0;
    }
    if (a[0] != '-') break;
    if (a[1] != '-' || !strchr(a, '=')) {
      fprintf(stderr, "reachcheck: bad flag '%s' (want --option=value; see --help)\n", a);
      return 2;
    }
    const char *kv = a + 2;
    if (strchr(kv, ':') && strncmp(kv, "json=", 5) && strncmp(kv, "suppressions=", 13) && strncmp(kv, "http=", 5)) {
      fprintf(stderr, "reachcheck: bad flag '%s' (':' separates options)\n", a);
      return 2;
    }
    len += (size_t)snprintf(opts + len, size - len, "%s%s", len ? ":" : "", kv);
    if (len >= size) {
      fprintf(stderr, "reachcheck: options too long\n");
      return 2;
    }
  }
  *prog = i;
  return GO_ON;
}

/* The options as the runtime will read them: GO_ON, or the exit status. */
static int check_options(const char *opts)
{
  char err[512];
  if (rc_options_parse(opts, err, sizeof err)) {
    fprintf(stderr, "reachcheck: %s (see reachcheck --help)\n", err);
    return 2;
  }
  if (rc_opt.help) {
    usage(stdout);
    return 0;
  }
  if (rc_opt.http[0]) {   /* never start a program whose endpoint would be refused */
    struct sockaddr_storage sa;
    socklen_t sl;
    if (rc_http_parse_addr(rc_opt.http, &sa, &sl, err, sizeof err)) {
      fprintf(stderr, "reachcheck: %s\n", err);
      return 2;
    }
  }
  return GO_ON;
}

/* Exec the program with the runtime preloaded; returns only on failure
 * (one line naming the problem). */
static int run(char **prog, const char *opts)
{
  if (rc_opt.suppressions[0] && access(rc_opt.suppressions, R_OK)) {
    fprintf(stderr, "reachcheck: cannot read suppressions file '%s': %s\n", rc_opt.suppressions, strerror(errno));
    return 2;
  }
  char rt[PATH_MAX];
  if (find_runtime(rt, sizeof rt)) {
    fprintf(stderr, "reachcheck: cannot find libreachcheck.so next to the launcher\n");
    return 2;
  }
  const char *pre = getenv("LD_PRELOAD");
  char preload[PATH_MAX * 2];
  snprintf(preload, sizeof preload, "%s%s%s", rt, pre && *pre ? ":" : "", pre && *pre ? pre : "");
  setenv("LD_PRELOAD", preload, 1);
  setenv("REACHCHECK_OPTIONS", opts, 1);
  /* a run of its own, even from inside a program whose endpoint this
   * marker names (core/profile/http.c, owner_mark) */
  unsetenv("REACHCHECK_HTTP_PID");
  execvp(prog[0], prog);
  fprintf(stderr, "reachcheck: cannot run '%s': %s\n", prog[0], strerror(errno));
  return 127;
}

int main(int argc, char **argv)
{
  /* Offline tools on snapshots and reports (a program named diff or graph
   * runs as `reachcheck -- diff ...`). */
  if (argc > 1 && !strcmp(argv[1], "diff")) return rc_tool_diff(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "graph")) return rc_tool_graph(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "pprof")) return rc_tool_pprof(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "top")) return rc_tool_top(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "list")) return rc_tool_list(argc - 1, argv + 1);
  static char opts[65536];
  int prog = 0;
  int rc = collect_flags(argc, argv, opts, sizeof opts, &prog);
  if (rc == GO_ON) rc = check_options(opts);
  if (rc != GO_ON) return rc;
  if (prog >= argc) {
    fprintf(stderr, "reachcheck: no program to run (see reachcheck --help)\n");
    return 2;
  }
  return run(argv + prog, opts);
}
