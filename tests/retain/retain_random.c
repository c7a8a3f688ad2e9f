/* Dominators against a brute force: a pseudo-random graph of 3000 blocks
 * (a random spanning tree from six root arrays plus random cross edges and
 * cycles) is built, printed as "B id size t0 t1 t2" / "R root t0 t1 t2"
 * lines, and the test recomputes every root's retained size in Python.
 * Leaks exactly the known block.   usage: retain_random [SEED] */
#include "rc_test.h"

#define N 3000
#define NR 6
struct blk { struct blk *p[3]; };

struct blk *g_root0[3], *g_root1[3], *g_root2[3], *g_root3[3], *g_root4[3], *g_root5[3];
static struct blk **const roots[NR] = {g_root0, g_root1, g_root2, g_root3, g_root4, g_root5};

static uint64_t rnd(uint64_t *s)
{
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

RC_NOINLINE void build(uint64_t seed)
{
  struct blk **b = malloc(N * sizeof *b);
  int (*tgt)[3] = malloc(N * sizeof *tgt);
  size_t *size = malloc(N * sizeof *size);
  int rt[NR][3];
  for (int i = 0; i < N; i++) {
    size[i] = sizeof(struct blk) + 8 * (rnd(&seed) % 40);
    b[i] = calloc(1, size[i]);
    tgt[i][0] = tgt[i][1] = tgt[i][2] = -1;
  }
  for (int r = 0; r < NR; r++) {
    rt[r][0] = r;
    rt[r][1] = rt[r][2] = -1;
  }
  /* a spanning tree: every block below a random earlier one */
  for (int i = NR; i < N; i++) {
    for (int tries = 0;; tries++) {
      int j = tries < 16 ? (int)(rnd(&seed) % (uint64_t)i) : i - 1 - (tries - 16) % i;
      int k = tgt[j][0] < 0 ? 0 : tgt[j][1] < 0 ? 1 : tgt[j][2] < 0 ? 2 : -1;
      if (k < 0) continue;
      tgt[j][k] = i;
      break;
    }
  }
  /* cross edges (cycles too) and extra root edges */
  for (int e = 0; e < N / 3; e++) {
    int a = (int)(rnd(&seed) % N), c = (int)(rnd(&seed) % N);
    int k = tgt[a][0] < 0 ? 0 : tgt[a][1] < 0 ? 1 : tgt[a][2] < 0 ? 2 : -1;
    if (k >= 0) tgt[a][k] = c;
  }
  for (int r = 0; r < NR; r++)
    if (rnd(&seed) % 2) rt[r][1] = (int)(rnd(&seed) % N);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 3; k++) b[i]->p[k] = tgt[i][k] >= 0 ? b[tgt[i][k]] : NULL;
  for (int r = 0; r < NR; r++)
    for (int k = 0; k < 3; k++) roots[r][k] = rt[r][k] >= 0 ? b[rt[r][k]] : NULL;
  for (int i = 0; i < N; i++) printf("B %d %zu %d %d %d\n", i, size[i], tgt[i][0], tgt[i][1], tgt[i][2]);
  for (int r = 0; r < NR; r++) printf("R %d %d %d %d\n", r, rt[r][0], rt[r][1], rt[r][2]);
  fflush(stdout);
  free(b);
  free(tgt);
  free(size);
}

int main(int argc, char **argv)
{
  build(argc > 1 ? strtoull(argv[1], NULL, 0) : 0x2545F4914F6CDD1Dull);
  rc_leak_known();
  rc_scrub();
  return 0;
}
