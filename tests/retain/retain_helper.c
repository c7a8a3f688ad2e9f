/* A heap big enough for the at-exit check to start its helper thread
 * (core/check/check.c: 256k slots): a global array retains ARR blocks of 24
 * bytes, a global list LIST nodes; the known 77-byte block leaks. The same
 * exact totals are expected with the retention pass on the helper thread
 * (beside the leak aggregation) and with check_helper=0 (one thread).
 * With a third argument "seccomp" the program installs, last thing, a
 * seccomp filter that kills the process on clone and clone3 (as a sandbox
 * may): the helper must not start, and the report is the same.
 *   usage: retain_helper ARR LIST [seccomp] */
#include "rc_test.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

struct node { struct node *next; long v; };
void **helper_arr;
struct node *helper_list;

RC_NOINLINE static void build(long arr, long list)
{
  helper_arr = malloc((size_t)arr * sizeof *helper_arr);
  for (long i = 0; i < arr; i++) helper_arr[i] = malloc(24);
  for (long i = 0; i < list; i++) {
    struct node *n = malloc(sizeof *n);
    n->next = helper_list;
    n->v = i;
    helper_list = n;
  }
}

static void forbid_clone(void)
{
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
    perror("retain_helper: seccomp");
    exit(2);
  }
}

int main(int argc, char **argv)
{
  build(argc > 1 ? atol(argv[1]) : 200000, argc > 2 ? atol(argv[2]) : 100000);
  rc_leak_known();
  rc_scrub();
  if (argc > 3 && !strcmp(argv[3], "seccomp")) forbid_clone();
  return 0;
}
