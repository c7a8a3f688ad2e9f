/* profile.proto writer: see pprof.h. Protobuf wire format by hand (varints
 * and length-delimited fields), every message encoded as soon as it is
 * added, so a profile costs its encoded size plus the dedup tables. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "base/base.h"
#include "base/pprof.h"

const char *const rc_pp_value_names[RC_PP_NVALUES][2] = {
  {"alloc_objects", "count"}, {"alloc_space", "bytes"},  {"inuse_objects", "count"},
  {"inuse_space", "bytes"},   {"leaked_objects", "count"}, {"leaked_space", "bytes"},
  {"temp_objects", "count"},  {"peak_objects", "count"},   {"peak_space", "bytes"},
};

/* ---- growable bytes ---- */
static bool mbuf_reserve(struct rc_mbuf *b, size_t add)
{
  if (b->oom) return false;
  if (b->len + add <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + add) cap *= 2;
  void *d = b->d ? mremap(b->d, b->cap, cap, MREMAP_MAYMOVE) : rc_mmap(cap);
  if (!d || d == MAP_FAILED) {
    b->oom = true;
    return false;
  }
  b->d = d;
  b->cap = cap;
  return true;
}

void rc_mbuf_put(struct rc_mbuf *b, const void *p, size_t n)
{
  if (!n || !mbuf_reserve(b, n)) return;
  memcpy(b->d + b->len, p, n);
  b->len += n;
}

void rc_mbuf_vprintf(struct rc_mbuf *b, const char *fmt, va_list ap)
{
  va_list ap2;
  va_copy(ap2, ap);
  char tmp[512];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if ((size_t)n < sizeof tmp) {
    rc_mbuf_put(b, tmp, (size_t)n);
  } else if (mbuf_reserve(b, (size_t)n + 1)) {
    vsnprintf(b->d + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
  }
  va_end(ap2);
}

void rc_mbuf_printf(struct rc_mbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  rc_mbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

void rc_mbuf_free(struct rc_mbuf *b)
{
  if (b->d) munmap(b->d, b->cap);
  memset(b, 0, sizeof *b);
}

/* ---- protobuf wire format ---- */
static void put_varint(struct rc_mbuf *b, uint64_t v)
{
  uint8_t t[10];
  int n = 0;
  while (v >= 0x80) {
    t[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  t[n++] = (uint8_t)v;
  rc_mbuf_put(b, t, (size_t)n);
}
static void put_tag(struct rc_mbuf *b, int field, int wire) { put_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }
/* A varint field; zero is the default and left out. */
static void put_uint(struct rc_mbuf *b, int field, uint64_t v)
{
  if (!v) return;
  put_tag(b, field, 0);
  put_varint(b, v);
}
static void put_bytes(struct rc_mbuf *b, int field, const void *p, size_t n)
{
  put_tag(b, field, 2);
  put_varint(b, n);
  rc_mbuf_put(b, p, n);
}

/* ---- u64 -> u64 hash map (open addressing, keys != 0) ---- */
struct map { uint64_t *k, *v; size_t cap, n; bool oom; };
static uint64_t mix(uint64_t x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}
static uint64_t *map_slot(struct map *m, uint64_t key)
{
  size_t i = mix(key) & (m->cap - 1);
  while (m->k[i] && m->k[i] != key) i = (i + 1) & (m->cap - 1);
  return &m->k[i];
}
static bool map_grow(struct map *m)
{
  size_t cap = m->cap ? m->cap * 2 : 1024;
  struct map n = {rc_mmap(cap * 8), rc_mmap(cap * 8), cap, m->n, false};
  if (!n.k || !n.v) {
    rc_munmap(n.k, cap * 8);
    rc_munmap(n.v, cap * 8);
    m->oom = true;
    return false;
  }
  for (size_t i = 0; i < m->cap; i++)
    if (m->k[i]) {
      uint64_t *s = map_slot(&n, m->k[i]);
      *s = m->k[i];
      n.v[s - n.k] = m->v[i];
    }
  rc_munmap(m->k, m->cap * 8);
  rc_munmap(m->v, m->cap * 8);
  *m = n;
  return true;
}
/* Value of key, or 0. */
static uint64_t map_get(struct map *m, uint64_t key)
{
  if (!m->cap) return 0;
  uint64_t *s = map_slot(m, key);
  return *s ? m->v[s - m->k] : 0;
}
static void map_put(struct map *m, uint64_t key, uint64_t val)
{
  if (2 * (m->n + 1) > m->cap && !map_grow(m)) return;
  uint64_t *s = map_slot(m, key);
  if (!*s) m->n++;
  *s = key;
  m->v[s - m->k] = val;
}
static void map_free(struct map *m)
{
  rc_munmap(m->k, m->cap * 8);
  rc_munmap(m->v, m->cap * 8);
}

/* ---- the builder ---- */
struct rc_pp {
  struct rc_mbuf strs;      /* the strings, NUL-terminated, in index order */
  struct rc_mbuf stroff;    /* uint64 offset of each in strs */
  struct map strmap;        /* hash -> chain head (index + 1); collisions chain through strnext */
  struct rc_mbuf strnext;   /* uint32 per string: next index + 1 with the same hash */
  uint64_t nstr;
  struct rc_mbuf head;      /* sample_type, scalars, comments */
  struct rc_mbuf samples, mappings, locations, functions, scratch, lines;
  struct map funmap, locmap, mapmap;
  uint64_t nfun, nloc, nmap;
  int nvalues;
  bool oom;
};

static uint64_t str_hash(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h | 1;
}

int64_t rc_pp_string(struct rc_pp *p, const char *s)
{
  if (!s) s = "";
  size_t n = strlen(s);
  uint64_t h = str_hash(s, n);
  for (uint64_t i = map_get(&p->strmap, h); i; i = ((uint32_t *)p->strnext.d)[i - 1]) {
    const char *t = p->strs.d + ((uint64_t *)p->stroff.d)[i - 1];
    if (!strcmp(t, s)) return (int64_t)(i - 1);
  }
  uint64_t off = p->strs.len;
  rc_mbuf_put(&p->strs, s, n + 1);
  rc_mbuf_put(&p->stroff, &off, 8);
  uint32_t next = (uint32_t)map_get(&p->strmap, h);
  rc_mbuf_put(&p->strnext, &next, 4);
  if (p->strs.oom || p->stroff.oom || p->strnext.oom) {
    p->oom = true;
    return 0;
  }
  map_put(&p->strmap, h, ++p->nstr);
  return (int64_t)(p->nstr - 1);
}

struct rc_pp *rc_pp_new(void)
{
  struct rc_pp *p = rc_mmap(sizeof *p);
  if (p) rc_pp_string(p, "");   /* string_table[0] must be "" */
  return p;
}

void rc_pp_free(struct rc_pp *p)
{
  if (!p) return;
  struct rc_mbuf *bufs[] = {&p->strs, &p->stroff, &p->strnext, &p->head, &p->samples, &p->mappings,
                            &p->locations, &p->functions, &p->scratch, &p->lines};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) rc_mbuf_free(bufs[i]);
  map_free(&p->strmap);
  map_free(&p->funmap);
  map_free(&p->locmap);
  map_free(&p->mapmap);
  rc_munmap(p, sizeof *p);
}

bool rc_pp_failed(const struct rc_pp *p)
{
  return !p || p->oom || p->samples.oom || p->mappings.oom || p->locations.oom || p->functions.oom ||
         p->head.oom || p->strmap.oom || p->funmap.oom || p->locmap.oom || p->mapmap.oom;
}

static void value_type(struct rc_pp *p, struct rc_mbuf *out, int field, const char *type, const char *unit)
{
  struct rc_mbuf *s = &p->scratch;
  rc_mbuf_reset(s);
  put_uint(s, 1, (uint64_t)rc_pp_string(p, type));
  put_uint(s, 2, (uint64_t)rc_pp_string(p, unit));
  put_bytes(out, field, s->d, s->len);
}

void rc_pp_sample_types(struct rc_pp *p, const char *const (*types)[2], int n, const char *default_type)
{
  for (int i = 0; i < n; i++) value_type(p, &p->head, 1, types[i][0], types[i][1]);
  p->nvalues = n;
  if (default_type) put_uint(&p->head, 14, (uint64_t)rc_pp_string(p, default_type));
}

void rc_pp_period(struct rc_pp *p, const char *type, const char *unit, int64_t period)
{
  value_type(p, &p->head, 11, type, unit);
  put_uint(&p->head, 12, (uint64_t)period);
}

void rc_pp_times(struct rc_pp *p, int64_t time_nanos, int64_t duration_nanos)
{
  put_uint(&p->head, 9, (uint64_t)time_nanos);
  put_uint(&p->head, 10, (uint64_t)duration_nanos);
}

void rc_pp_comment(struct rc_pp *p, const char *text)
{
  int64_t s = rc_pp_string(p, text);
  put_tag(&p->head, 13, 0);
  put_varint(&p->head, (uint64_t)s);
}

uint64_t rc_pp_mapping(struct rc_pp *p, uint64_t start, uint64_t limit, uint64_t offset, const char *file,
                       const char *build_id, bool symbolized)
{
  int64_t f = rc_pp_string(p, file);
  uint64_t key = mix((uint64_t)f * 0x9e3779b97f4a7c15ull ^ start) | 1;
  uint64_t id = map_get(&p->mapmap, key);
  if (id) return id;
  id = ++p->nmap;
  map_put(&p->mapmap, key, id);
  struct rc_mbuf *s = &p->scratch;
  rc_mbuf_reset(s);
  put_uint(s, 1, id);
  put_uint(s, 2, start);
  put_uint(s, 3, limit);
  put_uint(s, 4, offset);
  put_uint(s, 5, (uint64_t)f);
  if (build_id && *build_id) put_uint(s, 6, (uint64_t)rc_pp_string(p, build_id));
  /* go tool pprof cannot symbolize C programs itself: these tell it that
   * every location already carries its functions, files and lines. */
  put_uint(s, 7, symbolized);
  put_uint(s, 8, symbolized);
  put_uint(s, 9, symbolized);
  put_uint(s, 10, symbolized);   /* inline chains from DWARF where there are any */
  put_bytes(&p->mappings, 3, s->d, s->len);
  return id;
}

uint64_t rc_pp_function(struct rc_pp *p, const char *name, const char *system_name, const char *file, int64_t start_line)
{
  int64_t n = rc_pp_string(p, name), sn = rc_pp_string(p, system_name ? system_name : name), f = rc_pp_string(p, file);
  uint64_t key = ((uint64_t)n << 32 | (uint64_t)f) + 1;
  uint64_t id = map_get(&p->funmap, key);
  if (id) return id;
  id = ++p->nfun;
  map_put(&p->funmap, key, id);
  struct rc_mbuf *s = &p->scratch;
  rc_mbuf_reset(s);
  put_uint(s, 1, id);
  put_uint(s, 2, (uint64_t)n);
  put_uint(s, 3, (uint64_t)sn);
  put_uint(s, 4, (uint64_t)f);
  put_uint(s, 5, (uint64_t)start_line);
  put_bytes(&p->functions, 5, s->d, s->len);
  return id;
}

uint64_t rc_pp_location_find(struct rc_pp *p, uint64_t key) { return key ? map_get(&p->locmap, key) : 0; }

uint64_t rc_pp_location(struct rc_pp *p, uint64_t key, uint64_t mapping, uint64_t address,
                        const struct rc_pp_line *lines, int nlines)
{
  uint64_t id = rc_pp_location_find(p, key);
  if (id) return id;
  id = ++p->nloc;
  if (key) map_put(&p->locmap, key, id);
  struct rc_mbuf *s = &p->scratch, *l = &p->lines;
  rc_mbuf_reset(s);
  put_uint(s, 1, id);
  put_uint(s, 2, mapping);
  put_uint(s, 3, address);
  for (int i = 0; i < nlines; i++) {
    rc_mbuf_reset(l);
    put_uint(l, 1, lines[i].function);
    put_uint(l, 2, (uint64_t)lines[i].line);
    put_bytes(s, 4, l->d, l->len);
  }
  put_bytes(&p->locations, 4, s->d, s->len);
  return id;
}

void rc_pp_sample(struct rc_pp *p, const uint64_t *locs, int nlocs, const int64_t *values, int nvalues,
                  const struct rc_pp_label *labels, int nlabels)
{
  struct rc_mbuf *s = &p->scratch, *l = &p->lines;
  /* labels first (they intern strings through scratch-free paths) */
  int64_t keys[16], strs[16];
  if (nlabels > 16) nlabels = 16;
  for (int i = 0; i < nlabels; i++) {
    keys[i] = rc_pp_string(p, labels[i].key);
    strs[i] = labels[i].str ? rc_pp_string(p, labels[i].str) : -1;
  }
  rc_mbuf_reset(s);
  rc_mbuf_reset(l);
  for (int i = 0; i < nlocs; i++) put_varint(l, locs[i]);   /* packed */
  if (nlocs) put_bytes(s, 1, l->d, l->len);
  rc_mbuf_reset(l);
  for (int i = 0; i < nvalues; i++) put_varint(l, (uint64_t)values[i]);
  put_bytes(s, 2, l->d, l->len);
  for (int i = 0; i < nlabels; i++) {
    rc_mbuf_reset(l);
    put_uint(l, 1, (uint64_t)keys[i]);
    if (strs[i] >= 0) put_uint(l, 2, (uint64_t)strs[i]);
    else {
      put_tag(l, 3, 0);
      put_varint(l, (uint64_t)labels[i].num);
    }
    put_bytes(s, 3, l->d, l->len);
  }
  put_bytes(&p->samples, 2, s->d, s->len);
}

void rc_pp_encode(struct rc_pp *p, struct rc_mbuf *out)
{
  rc_mbuf_put(out, p->head.d, p->head.len);
  rc_mbuf_put(out, p->samples.d, p->samples.len);
  rc_mbuf_put(out, p->mappings.d, p->mappings.len);
  rc_mbuf_put(out, p->locations.d, p->locations.len);
  rc_mbuf_put(out, p->functions.d, p->functions.len);
  for (uint64_t i = 0; i < p->nstr; i++) {
    const char *t = p->strs.d + ((uint64_t *)p->stroff.d)[i];
    put_bytes(out, 6, t, strlen(t));
  }
  if (rc_pp_failed(p)) out->oom = true;
}

/* ---- zlib, loaded on first use, with memory from rc_mmap ----
 * Linked, libz.so.1 cost every preloaded process its loading and
 * relocation (~0.09 ms of task-clock for /bin/true on session 16's KVM
 * guest, 13 page faults; bench/RESULTS.md, session 16, "Start-up"), and
 * only a process that writes or reads a profile needs it. So, as
 * symbols/dw.c does for libdw, it is dlopen'ed (RTLD_LOCAL: the program's
 * own lookups never bind to it) when gzip or gunzip first runs: after a
 * check, on the endpoint's thread, or in a command-line tool, never in a
 * check's forked child (which only writes raw counts to its pipe). The build has zlib's header only, and the
 * runtime is linked with --no-undefined, so a direct call fails the build. */
#define RC_Z_FUNCTIONS(X) X(deflateInit2_) X(deflateBound) X(deflate) X(deflateEnd) X(inflateInit2_) X(inflate) X(inflateEnd)
enum { RC_Z_N = 0 RC_Z_FUNCTIONS(RC_DL_ONE) };
static union {
  struct {
    RC_Z_FUNCTIONS(RC_DL_FIELD)
  };
  void *fn[RC_Z_N];
} zl;
static void zl_load(void);
static struct rc_dl_lib zlib = {PTHREAD_ONCE_INIT, false, zl_load};

static void zl_load(void)
{
  static const char *const names[RC_Z_N] = {RC_Z_FUNCTIONS(RC_DL_NAME)};
  /* Debian's zlib1g, the soname of the build's header */
  __atomic_store_n(&zlib.loaded, rc_dl_resolve("libz.so.1", names, zl.fn, RC_Z_N), __ATOMIC_RELEASE);
}

bool rc_pp_zlib_load(void) { return rc_dl_load(&zlib); }

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
  (void)opaque;
  size_t n = (size_t)items * size + 16;
  size_t *q = rc_mmap(n);
  if (!q) return Z_NULL;
  q[0] = n;
  return q + 2;
}
static void z_free(voidpf opaque, voidpf addr)
{
  (void)opaque;
  if (!addr) return;
  size_t *q = (size_t *)addr - 2;
  rc_munmap(q, q[0]);
}

int rc_pp_gzip(const void *in, size_t n, struct rc_mbuf *out)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = z_alloc;
  z.zfree = z_free;
  if (!rc_pp_zlib_load()) {
    rc_log("cannot load zlib (libz.so.1) to compress a profile");
    return -1;
  }
  /* 15 + 16: a gzip header and trailer, which go tool pprof expects
   * (deflateInit2 is zlib.h's macro for this call) */
  if (zl.deflateInit2_(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK)
    return -1;
  size_t bound = zl.deflateBound(&z, (uLong)n);
  if (!mbuf_reserve(out, bound)) {
    zl.deflateEnd(&z);
    return -1;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out->d + out->len;
  z.avail_out = (uInt)bound;
  int rc = zl.deflate(&z, Z_FINISH);
  out->len += bound - z.avail_out;
  zl.deflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : -1;
}

int rc_pp_gunzip(const void *in, size_t n, struct rc_mbuf *out, size_t limit, char *err, size_t errlen)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  z.zalloc = z_alloc;
  z.zfree = z_free;
  if (!rc_pp_zlib_load()) {
    snprintf(err, errlen, "cannot load zlib (libz.so.1)");
    return -1;
  }
  /* + 32: gzip or zlib, detected (inflateInit2 is zlib.h's macro for this call) */
  if (zl.inflateInit2_(&z, 15 + 32, ZLIB_VERSION, (int)sizeof(z_stream)) != Z_OK) {
    snprintf(err, errlen, "zlib cannot start");
    return -1;
  }
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)n;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (!mbuf_reserve(out, 65536)) {
      snprintf(err, errlen, "out of memory");
      break;
    }
    z.next_out = (Bytef *)out->d + out->len;
    z.avail_out = 65536;
    rc = zl.inflate(&z, Z_NO_FLUSH);
    out->len += 65536 - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK) {
      snprintf(err, errlen, "not a valid gzip stream (%s)", z.msg ? z.msg : rc == Z_BUF_ERROR ? "truncated" : "corrupt");
      break;
    }
    if (out->len > limit) {
      snprintf(err, errlen, "decompresses to more than %zu bytes", limit);
      break;
    }
  }
  zl.inflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : -1;
}

/* ---- ELF: build id and load span ---- */
bool rc_pp_elf_info(const char *path, struct rc_elf_span *out)
{
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr) || !S_ISREG(st.st_mode)) {
    close(fd);
    return false;
  }
  size_t size = (size_t)st.st_size;
  const uint8_t *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return false;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
  bool ok = !memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_ident[EI_CLASS] == ELFCLASS64 && eh->e_phoff < size &&
            eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) <= size;
  if (ok) {
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(m + eh->e_phoff);
    out->vlo = UINT64_MAX;
    for (int i = 0; i < eh->e_phnum; i++) {
      if (ph[i].p_type == PT_LOAD) {
        if (ph[i].p_vaddr < out->vlo) {
          out->vlo = ph[i].p_vaddr;
          out->off = ph[i].p_offset;
        }
        if (ph[i].p_vaddr + ph[i].p_memsz > out->vhi) out->vhi = ph[i].p_vaddr + ph[i].p_memsz;
      }
      if (ph[i].p_type != PT_NOTE || ph[i].p_offset >= size || ph[i].p_filesz > size - ph[i].p_offset) continue;
      const uint8_t *n = m + ph[i].p_offset, *end = n + ph[i].p_filesz;
      while (n + sizeof(Elf64_Nhdr) <= end) {
        const Elf64_Nhdr *nh = (const Elf64_Nhdr *)n;
        size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
        const uint8_t *name = n + sizeof *nh, *desc = name + nsz;
        if (desc + dsz > end) break;
        if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) && nh->n_descsz < 40) {
          for (uint32_t k = 0; k < nh->n_descsz; k++) snprintf(out->build_id + (size_t)2 * k, 3, "%02x", desc[k]);
        }
        n = desc + dsz;
      }
    }
    if (out->vlo == UINT64_MAX) out->vlo = 0;
  }
  munmap((void *)m, size);
  return ok;
}

/* Through the one output-file writer (base/fileout.c): atomic, never
 * through another user's link; a private fallback when the path cannot be
 * written, said in one line. */
int rc_pp_write_file(const char *tmpl, const void *d, size_t n)
{
  char path[4096];
  if (rc_path_expand(tmpl, 0, path, sizeof path) < 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  struct rc_out o;
  if (rc_out_open(&o, path, true)) return -1;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(o.fd, (const char *)d + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      rc_out_abort(&o);
      errno = e;
      return -1;
    }
    off += (size_t)w;
  }
  if (rc_out_commit(&o)) return -1;
  if (o.fallback) rc_log("cannot write profile '%s' (%s); wrote it to %s", path, o.why, o.path);
  return 0;
}
