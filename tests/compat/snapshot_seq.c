/* Snapshots never overwrite each other: with snapshot_path=DIR/heap.snap.json
 * (no %n) two SIGUSR2 snapshots land in DIR/heap-1.snap.json and
 * DIR/heap-2.snap.json. The program signals itself and waits for each file
 * (the snapshot is written by a forked copy), then says which it saw. */
#include "rc_test.h"
#include <signal.h>
#include <sys/stat.h>

static int wait_for(const char *path)
{
  struct stat st;
  for (int i = 0; i < 2000; i++) {
    if (!stat(path, &st) && st.st_size > 0) return 1;
    usleep(5000);
  }
  return 0;
}

int main(int argc, char **argv)
{
  RC_CHECK(argc > 1);
  char one[4096], two[4096], plain[4096];
  snprintf(one, sizeof one, "%s/heap-1.snap.json", argv[1]);
  snprintf(two, sizeof two, "%s/heap-2.snap.json", argv[1]);
  snprintf(plain, sizeof plain, "%s/heap.snap.json", argv[1]);
  unlink(one);   /* an earlier run's files must not answer for this one */
  unlink(two);
  unlink(plain);
  raise(SIGUSR2);
  int a = wait_for(one);
  raise(SIGUSR2);
  int b = wait_for(two);
  struct stat st;
  printf("snapshots: %d %d plain %d\n", a, b, stat(plain, &st) == 0);
  rc_leak_known();
  rc_scrub();
  return 0;
}
