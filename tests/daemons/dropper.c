/* A worker that drops privileges, as daemons' workers do: started as root,
 * it leaks the known 77-byte block, becomes nobody (setgid, setuid), asks
 * for a snapshot with its snapshot signal (SIGUSR2) and waits until the
 * private fallback file of that snapshot appears in $XDG_RUNTIME_DIR (its
 * report path is not writable by nobody), then exits 0: the exit report
 * must land in the private file too, said in one line. */
#include "rc_test.h"
#include <dirent.h>
#include <pwd.h>
#include <signal.h>
#include <time.h>

static int snapshot_written(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) return 0;
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (!strncmp(e->d_name, "s-", 2) && !strstr(e->d_name, ".tmp")) found = 1;
  closedir(d);
  return found;
}

int main(void)
{
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  struct passwd *pw = getpwnam("nobody");
  RC_CHECK(xdg && pw);
  rc_leak_known();
  RC_CHECK(setgid(pw->pw_gid) == 0 && setuid(pw->pw_uid) == 0);
  RC_CHECK(kill(getpid(), SIGUSR2) == 0);
  for (int i = 0; i < 2000 && !snapshot_written(xdg); i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  RC_CHECK(snapshot_written(xdg));
  rc_scrub();
  return 0;
}
