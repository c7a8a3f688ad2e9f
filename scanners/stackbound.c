/* Where the live part of a thread's stack ends. A frame that returned before
 * exit() is dead, yet its slots are still there below the exiting thread's
 * stack pointer when the at-exit check runs (deeper, inside _dl_fini): the
 * only copy of a leaked pointer in one would keep the block "reachable".
 * Before the at-exit check, the checking thread's own stack is unwound to
 * libc's exit() frame: its CFA is the stack pointer of whoever called exit
 * (the program, or __libc_start_call_main after main returned: glibc calls
 * its exit directly, so an interposed exit would miss that path), and the
 * callee-saved registers unwound to that caller are the program's values
 * there. The check scans that thread from there. A thread stopped while
 * inside a check entry point is scanned from where it called in
 * (rc_api_sp, set by rc_check_run in check/check.c). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include "scanners/scanners.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

RC_TLS uintptr_t rc_api_sp;

static struct {
  int active;          /* the at-exit check is running and found exit()'s frame */
  long tid;            /* on this thread */
  uintptr_t sp;        /* the caller's stack pointer at the call to exit() */
  uintptr_t regs[6];   /* its rbx, rbp, r12, r13, r14, r15 there */
} bound;

static uintptr_t libc_exit, libc_exit_end;

void rc_stackbound_init(void)
{
  /* libc's exit, not a copy in the executable's PLT (a non-PIE program that
   * takes exit's address makes its PLT entry the canonical address). */
  libc_exit = (uintptr_t)dlsym(RTLD_NEXT, "exit");
  /* and its end, from its symbol's size: a frame is exit()'s when its pc
   * lies inside, which needs no unw_get_proc_info per frame (libunwind
   * looks the function up with all signals blocked around ld.so's module
   * list: 2 system calls a frame, most of the at-exit unwind's cost) */
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (libc_exit && dladdr1((void *)libc_exit, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size &&
      (uintptr_t)info.dli_saddr == libc_exit)
    libc_exit_end = libc_exit + sym->st_size;
}

/* Called by the at-exit check on the thread that runs it, before the world
 * is stopped (libunwind may take locks). Returns 1 if exit()'s frame was
 * found (the bound is in force until rc_stackbound_exit_end). */
static int find_exit_frame(long tid);

int rc_stackbound_exit_begin(long tid)
{
  if (!libc_exit) return 0;
  rc_in_runtime++;   /* whatever libunwind allocates or maps is reachcheck's */
  int found = find_exit_frame(tid);
  rc_in_runtime--;
  return found;
}

__attribute__((noinline)) static int find_exit_frame(long tid)
{
  unw_context_t uc;
  unw_cursor_t cur;
  if (unw_getcontext(&uc) || unw_init_local(&cur, &uc)) return 0;
  for (int depth = 0; depth < 256; depth++) {
    unw_word_t ip = 0;
    unw_get_reg(&cur, UNW_REG_IP, &ip);
    bool in_exit;
    if (libc_exit_end) {
      in_exit = ip > libc_exit && ip <= libc_exit_end;   /* a return address: up to the end */
    } else {
      unw_proc_info_t pi;
      in_exit = !unw_get_proc_info(&cur, &pi) ? pi.start_ip == libc_exit : ip > libc_exit && ip - libc_exit < 64;
    }
    if (unw_step(&cur) <= 0) return 0;
    if (!in_exit) continue;
    /* cur is exit()'s caller now: its SP is exit's CFA, its callee-saved
     * registers what CFI restores for that frame. */
    static const int regs[6] = {UNW_X86_64_RBX, UNW_X86_64_RBP, UNW_X86_64_R12,
                                UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15};
    unw_word_t sp = 0, v;
    if (unw_get_reg(&cur, UNW_REG_SP, &sp) || !sp) return 0;
    for (int i = 0; i < 6; i++) bound.regs[i] = unw_get_reg(&cur, regs[i], &v) ? 0 : (uintptr_t)v;
    bound.sp = (uintptr_t)sp;
    bound.tid = tid;
    __atomic_store_n(&bound.active, 1, __ATOMIC_RELEASE);
    memset(&uc, 0, sizeof uc);   /* no copy of the program's registers left in this dead frame */
    memset(&cur, 0, sizeof cur);
    return 1;
  }
  return 0;
}

void rc_stackbound_exit_end(void) { __atomic_store_n(&bound.active, 0, __ATOMIC_RELEASE); }

/* The checking thread tid: raise *sp to where the program called exit()
 * (never lower it) and return the program's callee-saved registers at that
 * call, or NULL when no at-exit bound applies. */
const uintptr_t *rc_stackbound_self(long tid, uintptr_t *sp)
{
  if (!__atomic_load_n(&bound.active, __ATOMIC_ACQUIRE) || bound.tid != tid || bound.sp <= *sp) return NULL;
  *sp = bound.sp;
  return bound.regs;
}
