/* The one way reachcheck writes an output file (JSON and SARIF reports,
 * snapshots, profiles): path templates, and an atomic, link-safe writer. */
#ifndef RC_FILEOUT_H
#define RC_FILEOUT_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Expand a path template: %p the pid, %n seq, %% a percent sign. Returns
 * the length, or -1 (out holds "") when the result does not fit in n. */
int rc_path_expand(const char *tmpl, unsigned seq, char *out, size_t n);

/* An output file being written. Regular files are written to a temporary
 * file with an unpredictable name, created O_EXCL | O_NOFOLLOW in the final
 * directory, then renamed over the final name, so a reader (or a killed
 * process) never sees half a file. A symbolic link is written through only
 * when it belongs to this user and does not sit in a sticky world-writable
 * directory (/tmp): else another user could make a process running as root
 * replace any file. Devices, FIFOs, /dev/ and /proc/ paths are appended to
 * in place. When the final path cannot be written, the file goes to a
 * private fallback (mode 0600) in a directory this user owns, and `path`
 * says where; the caller logs one line naming both. */
struct rc_out {
  int fd;
  int dirfd;            /* -1 when written in place */
  bool fallback;        /* written to the private fallback, not where asked */
  char path[4096];      /* where the file will be once committed */
  char tmp[256];        /* temporary name in dirfd ("" when in place) */
  char final_name[256]; /* final name in dirfd */
  char why[160];        /* why the path asked for could not be written */
};
/* Open for writing; 0, or -1 with o->why set when neither the path nor a
 * fallback could be opened. */
int rc_out_open(struct rc_out *o, const char *path, bool allow_fallback);
/* The same for process pid (the fallback's name is BASE.PID): a snapshot's
 * forked copy writes for the program it copies. */
int rc_out_open_for(struct rc_out *o, const char *path, bool allow_fallback, pid_t pid);
/* Close and rename into place; 0 or -1 (o->why set; the temporary is gone). */
int rc_out_commit(struct rc_out *o);
/* Close and remove the temporary (an error while writing). */
void rc_out_abort(struct rc_out *o);
#endif
