/* LeakSanitizer's interface (<sanitizer/lsan_interface.h>, as gcc and clang
 * ship it) over reachcheck: the __lsan_* functions, the program's hooks
 * (__lsan_default_options, __lsan_default_suppressions,
 * __lsan_is_turned_off), LSAN_OPTIONS for every key with a reachcheck
 * equivalent, root regions, and report_objects / log_path, which the
 * options table gained for them. A program written for LSan links with
 * -lreachcheck, or runs preloaded, unchanged. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "runtime/runtime.h"


/* The program's hooks: undefined weak references, so that a program linked
 * with -lreachcheck exports its definitions (the linker sees a shared
 * library refer to them); a preloaded runtime finds them in the
 * executable's symbol table instead (exe_hooks). */
extern const char *__lsan_default_options(void) __attribute__((weak));
extern const char *__lsan_default_suppressions(void) __attribute__((weak));
extern int __lsan_is_turned_off(void) __attribute__((weak));

/* ---- the executable's own symbol table ---- */
static int main_bias_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
  (void)size;
  *(uintptr_t *)arg = info->dlpi_addr;
  return 1;   /* the first object is the main program */
}

/* The hooks a preloaded runtime looks for in the executable's .symtab. */
enum { HOOK_OPTIONS, HOOK_SUPPRESSIONS, HOOK_TURNED_OFF, NHOOKS };
static const char *const hook_names[NHOOKS] = {"__lsan_default_options", "__lsan_default_suppressions",
                                               "__lsan_is_turned_off"};
static void *hook_found[NHOOKS];
static bool hooks_read;

/* A file range mapped with its pages populated in one call: a symbol
 * table is read once, front to back, where a fault a page costs more
 * than the scan. NULL on failure; *base and *maplen are what to unmap. */
static const char *map_range(int fd, uint64_t off, uint64_t size, void **base, size_t *maplen)
{
  uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE), lo = off & ~(pg - 1);
  *maplen = (size_t)(off - lo + size);
  void *m = mmap(NULL, *maplen, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, (off_t)lo);
  if (m == MAP_FAILED) return NULL;
  *base = m;
  return (const char *)m + (off - lo);
}

/* Fills hook_found with the defined functions of those names in the main
 * program's .symtab (a program run under LD_PRELOAD, not linked with
 * -lreachcheck, exports none of them), in one pass over the table and
 * only over it and its strings: an unstripped C++ program's tables run to
 * tens of MiB. On a program of 100k functions (6.4 MiB of tables) one
 * lookup a hook, each mapping the whole file and faulting its pages in
 * one at a time, made a run with the exit check take 20.6 ms instead of
 * 12.5 (plain: 3.0). Nothing is found when the program is stripped. */
static void exe_hooks(void)
{
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  ElfW(Ehdr) eh;
  if (fstat(fd, &st) || pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
      eh.e_shoff == 0 || eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0) {
    close(fd);
    return;
  }
  uint64_t len = (uint64_t)st.st_size;
  size_t shbytes = (size_t)eh.e_shnum * sizeof(ElfW(Shdr));
  /* up to 64 section headers on the stack (a mapping, its first touch and
   * its unmapping cost every process ~8 us of its start-up) */
  ElfW(Shdr) local[64];
  ElfW(Shdr) *sh = shbytes <= sizeof local ? local : rc_mmap(shbytes);
  if (!sh || eh.e_shoff > len || shbytes > len - eh.e_shoff || pread(fd, sh, shbytes, (off_t)eh.e_shoff) != (ssize_t)shbytes) {
    if (sh && sh != local) rc_munmap(sh, shbytes);
    close(fd);
    return;
  }
  uintptr_t bias = 0;
  dl_iterate_phdr(main_bias_cb, &bias);
  int left = NHOOKS;
  for (int i = 0; i < eh.e_shnum && left; i++) {
    if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh.e_shnum) continue;
    const ElfW(Shdr) *strs = &sh[sh[i].sh_link];
    if (sh[i].sh_offset > len || sh[i].sh_size > len - sh[i].sh_offset || strs->sh_offset > len ||
        strs->sh_size > len - strs->sh_offset || !sh[i].sh_size || !strs->sh_size)
      continue;
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    const ElfW(Sym) *sym = (const ElfW(Sym) *)map_range(fd, sh[i].sh_offset, sh[i].sh_size, &b1, &l1);
    const char *str = map_range(fd, strs->sh_offset, strs->sh_size, &b2, &l2);
    size_t n = sh[i].sh_size / sizeof *sym, strn = strs->sh_size;
    for (size_t k = 0; sym && str && k < n && left; k++) {
      if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_shndx == SHN_UNDEF || !sym[k].st_value ||
          sym[k].st_name >= strn || strn - sym[k].st_name < sizeof "__lsan_" ||
          memcmp(str + sym[k].st_name, "__lsan_", sizeof "__lsan_" - 1))
        continue;
      const char *name = str + sym[k].st_name;
      if (strnlen(name, strn - sym[k].st_name) == strn - sym[k].st_name) continue;   /* not terminated */
      for (int h = 0; h < NHOOKS; h++)
        if (!hook_found[h] && !strcmp(name, hook_names[h])) {
          hook_found[h] = (void *)(bias + sym[k].st_value);
          left--;
        }
    }
    if (b1) munmap(b1, l1);
    if (b2) munmap(b2, l2);
  }
  if (sh != local) rc_munmap(sh, shbytes);
  close(fd);
}

/* The program's hook: its weak reference when the dynamic linker bound it,
 * else what the executable's .symtab has (read once, at the first need). */
static void *hook(void *weak_ref, int which)
{
  if (weak_ref) return weak_ref;
  if (!hooks_read) {
    hooks_read = true;
    exe_hooks();
  }
  return hook_found[which];
}

/* ---- LSAN_OPTIONS ----
 * The sanitizers' syntax: name=value pairs separated by spaces, commas,
 * colons, tabs or newlines; a value may be quoted with ' or "; booleans
 * are 0/1/false/true/no/yes. */
struct lsan_key { const char *lsan, *rc; char type; };   /* type: b bool, i int, s string */
static const struct lsan_key mapped[] = {
  {"exitcode", "exitcode", 'i'},         {"suppressions", "suppressions", 's'},
  {"report_objects", "report_objects", 'b'}, {"use_globals", "scan_globals", 'b'},
  {"use_stacks", "scan_stacks", 'b'},    {"use_registers", "scan_registers", 'b'},
  {"use_tls", "scan_tls", 'b'},          {"use_unaligned", "unaligned", 'b'},
  {"max_leaks", "max_leaks", 'i'},       {"detect_leaks", "report", 'b'},
  {"log_path", "log_path", 's'},         {"use_ld_allocations", "scan_libc", 'b'},
  {"help", "help", 'b'},
};
static int lsan_root_regions = 1;   /* use_root_regions (scanners/regions.c) */

/* Flags LeakSanitizer (and the sanitizer runtimes it shares a parser with)
 * knows, with no reachcheck equivalent: accepted and ignored, as LSan
 * itself tolerates ASan's and the common flags. */
static const char *const tolerated[] = {
  /* LSan's own */
  "resolution", "use_poisoned", "log_pointers", "log_threads", "tries", "retries", "sleep_ms",
  "use_detached", "use_tls_dynamic",
  /* sanitizer_common */
  "symbolize", "external_symbolizer_path", "allow_addr2line", "strip_path_prefix", "fast_unwind_on_check",
  "fast_unwind_on_fatal", "fast_unwind_on_malloc", "handle_ioctl", "malloc_context_size", "log_exe_name",
  "log_suffix", "log_to_syslog", "verbosity", "strip_env", "verify_interceptors", "allocator_may_return_null",
  "print_summary", "print_module_map", "check_printf", "handle_segv", "handle_sigbus", "handle_abort",
  "handle_sigill", "handle_sigfpe", "handle_sigtrap", "allow_user_segv_handler", "use_sigaltstack",
  "detect_deadlocks", "clear_shadow_mmap_threshold", "color", "legacy_pthread_cond", "intercept_tls_get_addr",
  "mmap_limit_mb", "hard_rss_limit_mb", "soft_rss_limit_mb", "max_allocation_size_mb", "heap_profile",
  "allocator_release_to_os_interval_ms", "can_use_proc_maps_statm", "coverage", "coverage_dir",
  "cov_8bit_counters_out", "cov_pcs_out", "full_address_space", "print_suppressions", "disable_coredump",
  "use_madv_dontdump", "symbolize_inline_frames", "demangle", "symbolize_vs_style", "dedup_token_length",
  "stack_trace_format", "compress_stack_depot", "no_huge_pages_for_shadow", "strict_string_checks",
  "intercept_strstr", "intercept_strspn", "intercept_strtok", "intercept_strpbrk", "intercept_strlen",
  "intercept_strndup", "intercept_strchr", "intercept_memcmp", "strict_memcmp", "intercept_memmem",
  "intercept_intrin", "intercept_stat", "intercept_send", "decorate_proc_maps", "abort_on_error",
  "suppress_equal_pcs", "print_cmdline", "html_cov_report", "sancov_path", "dump_instruction_bytes",
  "dump_registers", "detect_write_exec", "test_only_emulate_no_memorymap",
  "test_only_replace_dlopen_main_program", "enable_symbolizer_markup", "detect_invalid_join",
  "malloc_fill_byte", "malloc_max_size", "lsan_allocator_may_return_null",
  /* AddressSanitizer's, often in a shared LSAN_OPTIONS/ASAN_OPTIONS string */
  "quarantine_size", "quarantine_size_mb", "thread_local_quarantine_size_kb", "redzone", "max_redzone",
  "debug", "report_globals", "check_initialization_order", "replace_str", "replace_intrin",
  "detect_stack_use_after_return", "min_uar_stack_size_log", "max_uar_stack_size_log", "uar_noreserve",
  "max_malloc_fill_size", "max_free_fill_size", "malloc_fill_byte", "free_fill_byte", "allow_user_poisoning",
  "sleep_before_dying", "sleep_after_init", "check_malloc_usable_size", "unmap_shadow_on_exit", "protect_shadow_gap",
  "print_stats", "print_legend", "print_scariness", "atexit", "print_full_thread_history", "poison_heap",
  "poison_partial", "poison_array_cookie", "alloc_dealloc_mismatch", "new_delete_type_mismatch",
  "strict_init_order", "start_deactivated", "detect_invalid_pointer_pairs", "detect_container_overflow",
  "detect_odr_violation", "suppress_equal_pcs", "halt_on_error", "use_odr_indicator",
  "allocator_frees_and_returns_null_on_realloc_zero", "verify_asan_link_order", "windows_hook_rtl_allocators",
  "detect_stack_use_after_scope", "dump_registers",
};

static bool in_list(const char *const *l, size_t n, const char *k, size_t kn)
{
  for (size_t i = 0; i < n; i++)
    if (strlen(l[i]) == kn && !memcmp(l[i], k, kn)) return true;
  return false;
}

static int parse_bool(const char *v, int *out)
{
  if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) return *out = 0, 0;
  if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) return *out = 1, 0;
  return -1;
}

static int lsan_parse(const char *s, const char *origin, int depth, char *err, size_t errlen);

/* include= / include_if_exists=: flags from a file, %p... not expanded. */
static int lsan_include(const char *path, bool must, const char *origin, int depth, char *err, size_t errlen)
{
  if (depth > 8) {
    snprintf(err, errlen, "%s: include= nested too deeply at '%.200s'", origin, path);
    return -1;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (!must) return 0;
    snprintf(err, errlen, "%s: cannot open include file '%.200s': %s", origin, path, strerror(errno));
    return -1;
  }
  char *buf = rc_mmap(65536);
  if (!buf) {
    close(fd);
    return 0;
  }
  ssize_t n = read(fd, buf, 65535);
  close(fd);
  int r = n < 0 ? 0 : lsan_parse(buf, origin, depth + 1, err, errlen);
  rc_munmap(buf, 65536);
  return r;
}

static int lsan_one(const char *k, size_t kn, const char *v, const char *origin, int depth, char *err,
                    size_t errlen)
{
  char key[64];
  snprintf(key, sizeof key, "%.*s", (int)(kn < 63 ? kn : 63), k);
  if (!strcmp(key, "include")) return lsan_include(v, true, origin, depth, err, errlen);
  if (!strcmp(key, "include_if_exists")) return lsan_include(v, false, origin, depth, err, errlen);
  int b;
  if (!strcmp(key, "use_root_regions") || !strcmp(key, "leak_check_at_exit")) {
    if (parse_bool(v, &b)) goto bad_bool;
    if (!strcmp(key, "use_root_regions")) lsan_root_regions = b;
    else if (!b) rc_exit_policy.at_exit = false;   /* leak_check_at_exit=0 */
    return 0;
  }
  for (size_t i = 0; i < sizeof mapped / sizeof mapped[0]; i++) {
    if (strcmp(mapped[i].lsan, key)) continue;
    char kv[4200];
    if (mapped[i].type == 'b') {
      if (parse_bool(v, &b)) goto bad_bool;
      snprintf(kv, sizeof kv, "%s=%d", mapped[i].rc, b);
    } else if (mapped[i].type == 'i' && !strcmp(key, "max_leaks") && v[0] == '-') {
      snprintf(kv, sizeof kv, "max_leaks=0");   /* LSan: 0 or negative, all */
    } else {
      snprintf(kv, sizeof kv, "%s=%.4000s", mapped[i].rc, v);
    }
    char e2[512];
    if (rc_options_parse(kv, e2, sizeof e2)) {
      snprintf(err, errlen, "%s: %s (from %s=%.100s)", origin, e2, key, v);
      return -1;
    }
    return 0;
  }
  if (!in_list(tolerated, sizeof tolerated / sizeof tolerated[0], k, kn))
    rc_log("%s: ignoring unknown flag '%s' (not a LeakSanitizer flag)", origin, key);
  return 0;
bad_bool:
  snprintf(err, errlen, "%s: bad value for boolean flag %s='%.100s' (want 0/1, false/true, no/yes)", origin, key, v);
  return -1;
}

static bool is_sep(char c) { return c == ' ' || c == ',' || c == ':' || c == '\t' || c == '\n' || c == '\r'; }

static int lsan_parse(const char *s, const char *origin, int depth, char *err, size_t errlen)
{
  if (!s) return 0;
  while (*s) {
    while (is_sep(*s)) s++;
    if (!*s) break;
    const char *k = s;
    while (*s && *s != '=' && !is_sep(*s)) s++;
    size_t kn = (size_t)(s - k);
    if (*s != '=') {
      snprintf(err, errlen, "%s: expected '=' after flag name '%.*s'", origin, (int)(kn < 100 ? kn : 100), k);
      return -1;
    }
    if (kn == 0) {
      snprintf(err, errlen, "%s: empty flag name before '='", origin);
      return -1;
    }
    s++;
    char val[4096];
    size_t vn = 0;
    if (*s == '\'' || *s == '"') {
      char q = *s++;
      while (*s && *s != q)
        if (vn < sizeof val - 1) val[vn++] = *s++;
        else s++;
      if (*s != q) {
        snprintf(err, errlen, "%s: unterminated quoted value for flag '%.*s'", origin, (int)(kn < 100 ? kn : 100), k);
        return -1;
      }
      s++;
    } else {
      while (*s && !is_sep(*s))
        if (vn < sizeof val - 1) val[vn++] = *s++;
        else s++;
    }
    val[vn] = 0;
    if (lsan_one(k, kn, val, origin, depth, err, errlen)) return -1;
  }
  return 0;
}

/* ---- start-up (runtime/init.c, before and after REACHCHECK_OPTIONS) ---- */

/* The program's __lsan_is_turned_off, asked when a check is about to run;
 * looked up then, not at start-up (a preloaded runtime finds it by reading
 * the executable's symbol table). */
static int turned_off(void)
{
  int (*off)(void) = (int (*)(void))hook((void *)__lsan_is_turned_off, HOOK_TURNED_OFF);
  return off && off();
}

int rc_compat_options(char *err, size_t errlen)
{
  const char *(*defaults)(void) = (const char *(*)(void))hook((void *)__lsan_default_options, HOOK_OPTIONS);
  if (defaults && lsan_parse(defaults(), "__lsan_default_options()", 0, err, errlen)) return -1;
  if (lsan_parse(getenv("LSAN_OPTIONS"), "LSAN_OPTIONS", 0, err, errlen)) return -1;
  rc_regions_enable(lsan_root_regions);
  rc_exit_policy.turned_off = turned_off;
  return rc_gperf_options(err, errlen);
}

int rc_compat_after_options(char *err, size_t errlen)
{
  rc_log_path_open();
  const char *(*supp)(void) =
      (const char *(*)(void))hook((void *)__lsan_default_suppressions, HOOK_SUPPRESSIONS);
  const char *text = supp ? supp() : NULL;
  if (text && rc_suppress_add_text(text, "__lsan_default_suppressions()", err, errlen)) return -1;
  return 0;
}

/* ---- the interface ---- */
RC_EXPORT void __lsan_disable(void) { reachcheck_disable(); }
RC_EXPORT void __lsan_enable(void)
{
  if (rc_disabled == 0) {
    /* LSan dies here; an unmatched enable is a bug in the program, but
     * not worth its life: say so once, go on. */
    static int said;
    if (!said++) rc_log("__lsan_enable() without a matching __lsan_disable()");
    return;
  }
  reachcheck_enable();
}

RC_EXPORT void __lsan_ignore_object(const void *p)
{
  if (!p || reachcheck_ignore(p)) {
    if (rc_opt.verbose) rc_log("__lsan_ignore_object(%p): not a live heap block", p);
  }
}

RC_EXPORT void __lsan_register_root_region(const void *p, size_t size)
{
  uintptr_t lo = (uintptr_t)p;
  if (size == 0 || lo + size < lo) return;
  if (!rc_region_add(lo, lo + size))
    rc_log("__lsan_register_root_region(%p, %zu): too many root regions; not registered", p, size);
}

RC_EXPORT void __lsan_unregister_root_region(const void *p, size_t size)
{
  if (!rc_region_remove((uintptr_t)p, (uintptr_t)p + size))
    rc_log("__lsan_unregister_root_region(%p, %zu): no such region was registered", p, size);
}

RC_EXPORT void __lsan_do_leak_check(void)
{
  if (!rc_heap_ready()) return;
  rc_final_check(false);
}

RC_EXPORT int __lsan_do_recoverable_leak_check(void)
{
  if (!rc_heap_ready() || !rc_opt.report || turned_off()) return 0;
  struct reachcheck_result r;
  long n = reachcheck_check(&r, 1);
  return n > 0 ? 1 : 0;
}
