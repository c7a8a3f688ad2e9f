/* Standalone check of scanners/modules.c + scanners/symbolize.c (not part of
 * the build): stubs the core, builds small libraries with cc/c++, and checks
 * that pcs resolve to function, file:line and module, also after dlclose.
 *   gcc -g -std=gnu11 -Wall -Wextra -fvisibility=hidden -o /tmp/test_symbolize \
 *       scanners/test_symbolize.c scanners/modules.c scanners/symbolize.c -ldw -lelf
 *   /tmp/test_symbolize        (needs gcc, g++ and strip on PATH) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/rc.h"

/* ---- stubs for core/ ---- */
RC_TLS int rc_in_runtime;
static int generations_seen;
void rc_depot_new_generation(void) { generations_seen++; }
void *rc_mmap(size_t bytes)
{
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}
void rc_munmap(void *p, size_t bytes) { munmap(p, bytes); }
#define VEC_RESERVE (64u << 20)
void rc_vec_init(struct rc_vec *v, size_t elem)
{
  memset(v, 0, sizeof *v);
  v->elem = elem;
  v->data = mmap(NULL, VEC_RESERVE, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  v->cap = VEC_RESERVE / elem;
}
void *rc_vec_push(struct rc_vec *v)
{
  if (v->len == v->cap) return NULL;
  return v->data + v->len++ * v->elem;
}
void rc_vec_free(struct rc_vec *v) { munmap(v->data, VEC_RESERVE); memset(v, 0, sizeof *v); }
char *rc_strdup_internal(const char *s)
{
  size_t n = strlen(s) + 1;
  char *p = rc_mmap(n);
  return p ? memcpy(p, s, n) : NULL;
}
void rc_die(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  abort();
}

/* ---- the test ---- */
static int failures;
#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)

static const char *dir;

__attribute__((noinline)) static uintptr_t capture(void)
{
  return (uintptr_t)__builtin_return_address(0);
}

/* Writes src to dir/name, compiles it to dir/lib<name>.so with cmd. */
static char *build(const char *name, const char *src, const char *cmd)
{
  char path[512], so[512], line[2048];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  fputs(src, f);
  fclose(f);
  snprintf(so, sizeof so, "%s/lib%.*s.so", dir, (int)(strchr(name, '.') - name), name);
  snprintf(line, sizeof line, "%s -shared -fPIC -O0 -o %s %s", cmd, so, path);
  if (system(line) != 0) { printf("FAIL: %s\n", line); exit(1); }
  return strdup(so);
}

static void show(const char *what, struct rc_frame_info *fi)
{
  printf("%-14s %#lx %s in %s+%#lx at %s:%d\n", what, (unsigned long)fi->pc,
         fi->function[0] ? fi->function : "??", fi->module, (unsigned long)fi->offset,
         fi->file ? fi->file : "?", fi->line);
}

static bool ends_with(const char *s, const char *t)
{
  size_t a = s ? strlen(s) : 0, b = strlen(t);
  return s && a >= b && strcmp(s + a - b, t) == 0;
}

typedef uintptr_t (*cap_fn)(uintptr_t (*)(void));

/* dlopen so, call fn(capture) and return the pc captured inside it. */
static uintptr_t pc_in(const char *so, const char *fn, void **handle)
{
  *handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!*handle) { printf("FAIL dlopen: %s\n", dlerror()); exit(1); }
  cap_fn f = (cap_fn)dlsym(*handle, fn);
  return f(capture);
}

int main(void)
{
  char tmpl[] = "/tmp/rc_symXXXXXX";
  dir = mkdtemp(tmpl);
  rc_modules_refresh();  /* what the runtime does at start */
  struct rc_frame_info fi;

  /* 1. a C library, closed before anything is symbolized (libdw's mmaps
   * would otherwise take its place), then 2. another one, which ld.so
   * usually maps where the first was: old stacks still resolve to the first,
   * new ones to the second. */
  char *liba = build("a.c", "#include <stdint.h>\n"
                     "uintptr_t a_capture(uintptr_t (*cb)(void))\n"
                     "{\n"
                     "  return cb(); /* line 4 */\n"
                     "}\n", "gcc -g");
  char *libb = build("b.c", "#include <stdint.h>\n"
                     "uintptr_t b_capture(uintptr_t (*cb)(void))\n"
                     "{\n"
                     "  return cb(); /* line 4 */\n"
                     "}\n", "gcc -g");
  void *h;
  uintptr_t pc_a = pc_in(liba, "a_capture", &h);
  uint32_t gen_a = rc_modules_generation();
  dlclose(h);
  CHECK(rc_modules_generation() == gen_a + 1 && generations_seen == 1);
  uintptr_t pc_b = pc_in(libb, "b_capture", &h);
  uint32_t gen_b = rc_modules_generation();
  rc_modules_refresh();  /* what a check does first */
  rc_symbolize(pc_a, gen_a, &fi);
  show("a (closed)", &fi);
  CHECK(strcmp(fi.function, "a_capture") == 0);
  CHECK(ends_with(fi.file, "/a.c") && fi.line == 4);
  CHECK(strcmp(fi.module, liba) == 0);
  rc_symbolize(pc_b, gen_b, &fi);
  show("b (open)", &fi);
  CHECK(strcmp(fi.function, "b_capture") == 0 && ends_with(fi.file, "/b.c") && fi.line == 4);
  CHECK(strcmp(fi.module, libb) == 0);
  const char *p_new = NULL;
  uintptr_t bias;
  bool reused = rc_module_lookup(pc_a, gen_b, &p_new, &bias);
  printf("pc_a in gen %u -> %s\n", gen_b, reused ? p_new : "(nothing: address not reused)");
  CHECK(!reused || strcmp(p_new, libb) == 0);
  dlclose(h);
  rc_symbolize(pc_b, gen_b, &fi);
  CHECK(strcmp(fi.function, "b_capture") == 0 && strcmp(fi.module, libb) == 0);

  /* 3. C++: demangled, with only a RTLD_LOCAL libstdc++ in the process */
  char *libc_ = build("cxx.cc", "#include <cstdint>\n"
                      "namespace ns { struct K { static uintptr_t cap(uintptr_t (*cb)()); }; }\n"
                      "uintptr_t ns::K::cap(uintptr_t (*cb)())\n"
                      "{\n"
                      "  return cb(); // line 5\n"
                      "}\n"
                      "#include <string>\n"  /* so that libstdc++ is really linked */
                      "extern \"C\" uintptr_t cxx_capture(uintptr_t (*cb)())\n"
                      "{ return ns::K::cap(cb) + std::string(\"x\").size() - 1; }\n",
                      "g++ -g");
  uintptr_t pc_c = pc_in(libc_, "cxx_capture", &h);
  uint32_t gen_c = rc_modules_generation();
  dlclose(h);
  rc_symbolize(pc_c, gen_c, &fi);
  show("c++ (closed)", &fi);
  CHECK(strcmp(fi.function, "ns::K::cap(unsigned long (*)())") == 0);
  CHECK(ends_with(fi.file, "/cxx.cc") && fi.line == 5);

  /* 4. no DWARF, no .symtab: the .dynsym name, no file */
  char *libs = build("s.c", "#include <stdint.h>\n"
                     "uintptr_t s_capture(uintptr_t (*cb)(void)) { return cb(); }\n",
                     "gcc -s");
  uintptr_t pc_s = pc_in(libs, "s_capture", &h);
  uint32_t gen_s = rc_modules_generation();
  dlclose(h);
  rc_symbolize(pc_s, gen_s, &fi);
  show("stripped", &fi);
  CHECK(strcmp(fi.function, "s_capture") == 0 && fi.file == NULL);

  /* 5. the main program, under its /proc/self/exe name */
  uintptr_t pc_m = capture();
  rc_symbolize(pc_m, rc_modules_generation(), &fi);
  show("main", &fi);
  char exe[512] = "";
  readlink("/proc/self/exe", exe, sizeof exe - 1);
  CHECK(strcmp(fi.function, "main") == 0 && ends_with(fi.file, "test_symbolize.c"));
  CHECK(strcmp(fi.module, exe) == 0);

  /* 6. libc (stripped, no -dbgsym): name from .dynsym or nothing, no hang */
  rc_symbolize((uintptr_t)&strdup + 4, rc_modules_generation(), &fi);
  show("libc", &fi);
  CHECK(strstr(fi.module, "libc.so") != NULL);

  /* 7. nowhere */
  rc_symbolize(16, rc_modules_generation(), &fi);
  CHECK(strcmp(fi.module, "?") == 0 && fi.function[0] == 0);

  rc_symbolize_done();
  rc_symbolize(pc_a, gen_a, &fi);  /* reopens after done */
  CHECK(strcmp(fi.function, "a_capture") == 0);
  rc_symbolize_done();
  CHECK(rc_in_runtime == 0);

  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) failures++;
  printf(failures ? "%d FAILED\n" : "all passed\n", failures);
  return failures != 0;
}
