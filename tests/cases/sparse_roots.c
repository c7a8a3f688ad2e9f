/* Root ranges far larger than what the program touched (scanners/maps.c,
 * rc_root_piece): a 64 MiB static array and a 256 MiB MAP_NORESERVE arena,
 * one page of each written, each holding the only pointer to a block (40
 * and 50 bytes, deep inside), and a 1 MiB shared anonymous mapping holding
 * the only pointer to a third (60 bytes), which is read whole. An
 * on-demand check must find the three blocks reachable and fault in no
 * page of the array or the arena: their resident pages (mincore) are the
 * same before and after it ("resident unchanged"). Plus the known leak. */
#include "rc_test.h"
#include <dlfcn.h>
#include <stdio.h>
#include <sys/mman.h>
#include "reachcheck.h"

#define BIG (64u << 20)
#define ARENA (256u << 20)
#define SHARED (1u << 20)
static char big[BIG] __attribute__((aligned(4096)));

static long resident(const void *p, size_t len)
{
  static unsigned char vec[ARENA / 4096];
  RC_CHECK(len / 4096 <= sizeof vec);
  RC_CHECK(mincore((void *)p, len, vec) == 0);
  long n = 0;
  for (size_t i = 0; i < len / 4096; i++) n += vec[i] & 1;
  return n;
}

RC_NOINLINE static void plant(char *arena, char *shared)
{
  void *a = malloc(40), *b = malloc(50), *c = malloc(60);
  RC_CHECK(a && b && c);
  memcpy(big + (40u << 20) + 8, &a, sizeof a);
  memcpy(arena + (200u << 20) + 16, &b, sizeof b);
  memcpy(shared + (512u << 10) + 24, &c, sizeof c);
  a = b = c = NULL;
  rc_barrier(a);
}

int main(void)
{
  __typeof__(&reachcheck_check) check = (__typeof__(&reachcheck_check))dlsym(RTLD_DEFAULT, "reachcheck_check");
  RC_CHECK(check != NULL);
  char *arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  char *shared = mmap(NULL, SHARED, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  RC_CHECK(arena != MAP_FAILED && shared != MAP_FAILED);
  plant(arena, shared);
  rc_leak_known();
  rc_scrub();
  long before = resident(big, BIG) + resident(arena, ARENA);
  struct reachcheck_result r;
  long n = check(&r, 0);
  long after = resident(big, BIG) + resident(arena, ARENA);
  printf("leaks %ld\n", n);
  if (after == before) printf("resident unchanged\n");
  else printf("resident grew by %ld pages\n", after - before);
  return 0;
}
