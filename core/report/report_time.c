/* Memory over time in the JSON report and in snapshots: allocation totals
 * with temporary allocations, the peak with the stacks that made it, the
 * stacks that allocate most, and the timeline with a series for each of
 * the stacks that held the most (stack/timeline.h records them;
 * docs/over-time.md describes the fields). */
#define _GNU_SOURCE
#include <string.h>
#include "report/report.h"
#include "stack/counters.h"
#include "stack/timeline.h"

#define PEAK_SITES 10    /* stacks listed under the peak */
#define ALLOC_SITES 20   /* stacks listed by allocation calls */
#define SERIES 6         /* timeline series, the rest is "other" */

static const struct rc_count *by_calls_c;
static int by_calls(const void *a, const void *b)
{
  uint64_t x = by_calls_c[*(const uint32_t *)a].allocs, y = by_calls_c[*(const uint32_t *)b].allocs;
  return x < y ? 1 : x > y ? -1 : (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}
static const uint64_t *by_val_v;
static int by_val(const void *a, const void *b)
{
  uint64_t x = by_val_v[*(const uint32_t *)a], y = by_val_v[*(const uint32_t *)b];
  return x < y ? 1 : x > y ? -1 : (*(const uint32_t *)a > *(const uint32_t *)b) - (*(const uint32_t *)a < *(const uint32_t *)b);
}

/* The first `limit` of ids 1..n-1 with key > 0 by cmp, sorted; returns
 * how many. */
static uint32_t ranked(uint32_t *ids, uint32_t n, uint32_t limit, bool (*keep)(uint32_t, const void *),
                       const void *ctx, int (*cmp)(const void *, const void *))
{
  uint32_t k = 0;
  for (uint32_t i = 1; i < n; i++)
    if (keep(i, ctx)) ids[k++] = i;
  return (uint32_t)rc_sort_first(ids, k, sizeof *ids, limit, cmp);
}
static bool has_allocs(uint32_t i, const void *c) { return ((const struct rc_count *)c)[i].allocs != 0; }
static bool nonzero(uint32_t i, const void *v) { return ((const uint64_t *)v)[i] != 0; }

static void write_peak(struct rc_buf *b, enum rc_stack_style style, uint32_t *ids)
{
  struct rc_peak pk;
  rc_peak_get(&pk);
  rc_buf_printf(b, ",\"peak\":{\"bytes\":%llu,\"blocks\":%llu,\"time_ms\":%.3f,\"sites\":[",
                (unsigned long long)pk.bytes, (unsigned long long)pk.blocks, pk.t_ms < 0 ? 0 : pk.t_ms);
  by_val_v = pk.site_bytes;
  uint32_t k = pk.n ? ranked(ids, pk.n, PEAK_SITES, nonzero, pk.site_bytes, by_val) : 0;
  for (uint32_t j = 0; j < k; j++) {
    rc_buf_printf(b, "%s{\"bytes\":%llu,\"blocks\":%llu,\"stack\":", j ? "," : "",
                  (unsigned long long)pk.site_bytes[ids[j]], (unsigned long long)pk.site_blocks[ids[j]]);
    rc_stack_format(b, ids[j], style, NULL, 0);
    rc_buf_put(b, "}", 1);
  }
  rc_buf_put(b, "]}", 2);
}

static void write_sites(struct rc_buf *b, enum rc_stack_style style, const struct rc_count *c, uint32_t n, uint32_t *ids)
{
  struct rc_peak pk;
  rc_peak_get(&pk);
  by_calls_c = c;
  uint32_t k = ranked(ids, n, ALLOC_SITES, has_allocs, c, by_calls);
  rc_buf_put(b, ",\"alloc_sites\":[", 16);
  for (uint32_t j = 0; j < k; j++) {
    const struct rc_count *s = &c[ids[j]];
    bool p = ids[j] < pk.n;
    rc_buf_printf(b, "%s{\"calls\":%llu,\"bytes\":%llu,\"frees\":%llu,\"temporary\":%llu,\"live_blocks\":%llu,"
                     "\"live_bytes\":%llu,\"peak_blocks\":%llu,\"peak_bytes\":%llu,\"stack\":", j ? "," : "",
                  (unsigned long long)s->allocs, (unsigned long long)s->alloc_bytes, (unsigned long long)s->frees,
                  (unsigned long long)s->temps, (unsigned long long)(s->allocs - s->frees),
                  (unsigned long long)(s->alloc_bytes - s->free_bytes),
                  (unsigned long long)(p ? pk.site_blocks[ids[j]] : 0), (unsigned long long)(p ? pk.site_bytes[ids[j]] : 0));
    rc_stack_format(b, ids[j], style, NULL, 0);
    rc_buf_put(b, "}", 1);
  }
  rc_buf_put(b, "]", 1);
}

/* The timeline: per point its time, bytes and blocks, and a series for
 * each of the SERIES stacks with the most live bytes at any point (a point
 * where a stack was not among its RC_TL_TOP holds 0 for it: its bytes are
 * in the difference to the total, "other"). */
static void write_timeline(struct rc_buf *b, enum rc_stack_style style, uint64_t *maxb, uint32_t n, uint32_t *ids)
{
  const struct rc_tl_point *p;
  double interval;
  uint32_t np = rc_timeline_get(&p, &interval);
  uint64_t sums, stale;
  rc_timeline_peak_sums(&sums, &stale);
  rc_buf_printf(b, ",\"timeline\":{\"start_ms\":%.3f,\"interval_ms\":%.3f,\"points\":%u,\"max_points\":%u,"
                   "\"samples\":%llu,\"peak_sums\":%llu,\"peak_sums_stale\":%llu,\"memory_bytes\":%llu,\"t_ms\":[",
                rc_time_start_ms(), interval, np, RC_TL_POINTS, (unsigned long long)rc_timeline_samples(),
                (unsigned long long)sums, (unsigned long long)stale, (unsigned long long)rc_timeline_memory());
  for (uint32_t i = 0; i < np; i++) rc_buf_printf(b, "%s%.3f", i ? "," : "", p[i].t_ms);
  rc_buf_put(b, "],\"bytes\":[", 11);
  for (uint32_t i = 0; i < np; i++) rc_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)p[i].bytes);
  rc_buf_put(b, "],\"blocks\":[", 12);
  for (uint32_t i = 0; i < np; i++) rc_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)p[i].blocks);
  rc_buf_put(b, "],\"sites\":[", 11);
  for (uint32_t i = 0; i < np; i++)
    for (int k = 0; k < RC_TL_TOP && p[i].site[k]; k++)
      if (p[i].site[k] < n && p[i].site_bytes[k] > maxb[p[i].site[k]]) maxb[p[i].site[k]] = p[i].site_bytes[k];
  by_val_v = maxb;
  uint32_t k = ranked(ids, n, SERIES, nonzero, maxb, by_val);
  for (uint32_t j = 0; j < k; j++) {
    rc_buf_put(b, j ? ",{\"stack\":" : "{\"stack\":", j ? 10 : 9);
    rc_stack_format(b, ids[j], style, NULL, 0);
    rc_buf_put(b, ",\"bytes\":[", 10);
    for (uint32_t i = 0; i < np; i++) {
      uint64_t v = 0;
      for (int t = 0; t < RC_TL_TOP && p[i].site[t]; t++)
        if (p[i].site[t] == ids[j]) v = p[i].site_bytes[t];
      rc_buf_printf(b, "%s%llu", i ? "," : "", (unsigned long long)v);
    }
    rc_buf_put(b, "]}", 2);
  }
  rc_buf_put(b, "]}", 2);
}

static void time_json_locked(struct rc_buf *b, enum rc_stack_style style)
{
  uint32_t n = rc_depot_count() + 1;
  struct rc_peak pk;
  rc_peak_get(&pk);
  uint32_t m = n > pk.n ? n : pk.n;
  size_t bytes = (size_t)n * sizeof(struct rc_count) + (size_t)m * (sizeof(uint32_t) + sizeof(uint64_t));
  char *mem = rc_mmap(bytes);
  if (!mem) return;
  struct rc_count *c = (struct rc_count *)mem;
  uint32_t *ids = (uint32_t *)(mem + (size_t)n * sizeof *c);
  uint64_t *maxb = (uint64_t *)(ids + m);
  rc_counts_sum(c, n);
  struct rc_count t = {0};
  for (uint32_t i = 1; i < n; i++) {
    t.allocs += c[i].allocs;
    t.alloc_bytes += c[i].alloc_bytes;
    t.frees += c[i].frees;
    t.free_bytes += c[i].free_bytes;
    t.temps += c[i].temps;
  }
  rc_buf_printf(b, ",\"allocations\":{\"calls\":%llu,\"bytes\":%llu,\"frees\":%llu,\"temporary\":%llu,"
                   "\"live_blocks\":%llu,\"live_bytes\":%llu}",
                (unsigned long long)t.allocs, (unsigned long long)t.alloc_bytes, (unsigned long long)t.frees,
                (unsigned long long)t.temps, (unsigned long long)(t.allocs - t.frees),
                (unsigned long long)(t.alloc_bytes - t.free_bytes));
  write_peak(b, style, ids);
  write_sites(b, style, c, n, ids);
  write_timeline(b, style, maxb, n, ids);
  rc_munmap(mem, bytes);
}

/* The counters are summed at any time; the peak and the points are read
 * under the recorder's lock (stack/timeline.h). */
void rc_time_json(struct rc_buf *b, enum rc_stack_style style)
{
  if (!rc_timeline_lock()) return;   /* a thread that records holds it for microseconds; a stopped one: nothing */
  time_json_locked(b, style);
  rc_timeline_unlock();
}
