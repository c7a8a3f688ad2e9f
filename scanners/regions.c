/* Root regions the program registers (__lsan_register_root_region): an
 * internal table, scanned at each check, clipped to the readable mappings
 * (unmapped or protected parts are skipped, as LeakSanitizer does). */
#include "scanners/scanners.h"

#define MAX_REGIONS 4096
static struct { uintptr_t lo, hi; } regions[MAX_REGIONS];
static int nregions;
static rc_spinlock region_lock = RC_SPINLOCK_INIT;
static bool enabled = true;

bool rc_region_add(uintptr_t lo, uintptr_t hi)
{
  rc_spin_lock(&region_lock);
  bool ok = nregions < MAX_REGIONS;
  if (ok) {
    regions[nregions].lo = lo;
    regions[nregions].hi = hi;
    nregions++;
  }
  rc_spin_unlock(&region_lock);
  return ok;
}

bool rc_region_remove(uintptr_t lo, uintptr_t hi)
{
  rc_spin_lock(&region_lock);
  for (int i = nregions - 1; i >= 0; i--)
    if (regions[i].lo == lo && regions[i].hi == hi) {
      regions[i] = regions[--nregions];
      rc_spin_unlock(&region_lock);
      return true;
    }
  rc_spin_unlock(&region_lock);
  return false;
}

void rc_regions_enable(bool on) { enabled = on; }

void rc_regions_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx)
{
  if (!enabled) return;
  /* The world is stopped: a stopped thread may hold region_lock mid-update
   * of one entry, never leaving the count past valid entries. */
  static const struct rc_root_range range = {.kind = RC_ROOT_OTHER, .part = RC_PART_REGION};
  for (int i = 0; i < nregions; i++) rc_root_clipped(maps, fn, ctx, regions[i].lo, regions[i].hi, &range);
}
