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
#include <stdlib.h>
#include <string.h>
#include "scanners/scanners.h"
#include "stack/unwind.h"

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
  /* and its end: a frame is exit()'s when its pc lies inside, which needs
   * no unw_get_proc_info per frame (libunwind looks the function up with
   * all signals blocked around ld.so's module list: 2 system calls a
   * frame). From the FDE that covers exit (its unwind row), else from its
   * symbol's size (dladdr1 walks libc's whole symbol table: ~15 us of every
   * process's start-up, bench/RESULTS.md, session 18). */
  struct rc_cfi_row row;
  if (libc_exit && rc_cfi_row(libc_exit, &row) && row.fn_lo == libc_exit && row.fn_hi > libc_exit) {
    libc_exit_end = row.fn_hi;
    if (!rc_unwind_verify) return;   /* RC_UNWIND_VERIFY=1: the symbol must say the same */
  }
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  uintptr_t end = 0;
  if (libc_exit && dladdr1((void *)libc_exit, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size &&
      (uintptr_t)info.dli_saddr == libc_exit)
    end = libc_exit + sym->st_size;
  if (libc_exit_end && end && libc_exit_end != end) {
    rc_log("RC_UNWIND_VERIFY: exit() ends at 0x%lx by its FDE, 0x%lx by its symbol", (unsigned long)libc_exit_end,
           (unsigned long)end);
    abort();
  }
  if (!libc_exit_end) libc_exit_end = end;
}

/* Called by the at-exit check on the thread that runs it, before the world
 * is stopped (libunwind may take locks). Returns 1 if exit()'s frame was
 * found (the bound is in force until rc_stackbound_exit_end). */
static int find_exit_frame(long tid);
static int unw_exit_frame(uintptr_t *out_sp, uintptr_t out_regs[6]);

int rc_stackbound_exit_begin(long tid)
{
  if (!libc_exit) return 0;
  rc_in_runtime++;   /* whatever libunwind allocates or maps is reachcheck's */
  int found = find_exit_frame(tid);
  rc_in_runtime--;
  return found;
}

/* The walk to exit()'s caller by the unwind tables (stack/cfi.c's rows),
 * without libunwind: libunwind looks every frame's function up with all
 * signals blocked around ld.so's module list, two system calls a frame,
 * ~35 us of every process's exit check (bench/RESULTS.md, session 18).
 * Fills sp and regs (rbx, rbp, r12-r15) as they are in exit()'s caller and
 * returns 1; -1 when a frame needs more than rsp/rbp-based CFAs and
 * registers saved at CFA offsets (a signal frame, an expression, no unwind
 * row), or leaves the stack: libunwind then walks. Every saved register it
 * reads lies between the frame's stack pointer and the stack's top
 * (rc_stack_top: a thread's descriptor, or __libc_stack_end for the main
 * thread). */
__attribute__((noinline)) static int rows_exit_frame(uintptr_t *out_sp, uintptr_t out_regs[6])
{
  uintptr_t r[6] = {0}, sp, pc;   /* written by the asm (the analyzers cannot see it) */
  __asm__ volatile("movq %%rbx, 0(%[r])\n\t"
                   "movq %%rbp, 8(%[r])\n\t"
                   "movq %%r12, 16(%[r])\n\t"
                   "movq %%r13, 24(%[r])\n\t"
                   "movq %%r14, 32(%[r])\n\t"
                   "movq %%r15, 40(%[r])\n\t"
                   "leaq 0(%%rip), %[pc]\n\t"
                   "movq %%rsp, %[sp]"
                   : [pc] "=&r"(pc), [sp] "=&r"(sp)
                   : [r] "r"(r)
                   : "memory");
  uintptr_t top = rc_stack_top(sp);   /* the allocation walks' bound */
  if (!top) return -1;
  for (int depth = 0; depth < 64; depth++) {
    bool in_exit = depth && pc > libc_exit && pc <= libc_exit_end;   /* a return address: up to the end */
    struct rc_cfi_row row;
    if (!rc_cfi_row(depth ? pc - 1 : pc, &row)) {   /* the first pc is exact, the rest return addresses */
      /* This library's crtstuff __do_global_dtors_aux, which runs the
       * at-exit check through __cxa_finalize, has no unwind row: it keeps
       * rbp as a frame pointer (push %rbp; mov %rsp,%rbp), as libunwind
       * assumes of a frame without one. Only in our own code. */
      uintptr_t lo, hi;
      rc_self_text(&lo, &hi);
      if (!depth || pc - 1 < lo || pc - 1 >= hi) return -1;
      row = (struct rc_cfi_row){.cfa_rbp = true, .cfa_off = 16};
      row.how[1] = row.how[6] = RC_CFI_OFFSET;
      row.off[1] = -16;
      row.off[6] = -8;
    }
    uintptr_t cfa = (row.cfa_rbp ? r[1] : sp) + (uintptr_t)row.cfa_off;
    if (cfa <= sp || cfa > top) return -1;
    uintptr_t next[RC_CFI_NREGS];
    for (int i = 0; i < RC_CFI_NREGS; i++) {
      if (i < 6 && row.how[i] == RC_CFI_SAME) {
        next[i] = r[i];
        continue;
      }
      uintptr_t at = cfa + (uintptr_t)row.off[i];
      if (row.how[i] != RC_CFI_OFFSET || at < sp || at > top - sizeof(uintptr_t)) return -1;
      memcpy(&next[i], (const void *)at, sizeof next[i]);
    }
    memcpy(r, next, sizeof r);
    sp = cfa;
    pc = next[6];
    if (in_exit) {
      *out_sp = sp;
      memcpy(out_regs, r, sizeof r);
      memset(next, 0, sizeof next);   /* no copy of the program's registers left in this dead frame */
      memset(r, 0, sizeof r);
      __asm__ volatile("" : : "r"(next), "r"(r) : "memory");
      return 1;
    }
  }
  return -1;
}

__attribute__((noinline)) static int find_exit_frame(long tid)
{
  uintptr_t sp = 0, regs[6] = {0};
  int found = libc_exit_end ? rows_exit_frame(&sp, regs) : -1;
  if (found > 0 && rc_unwind_verify) {   /* RC_UNWIND_VERIFY=1: libunwind's walk must say the same */
    uintptr_t usp = 0, uregs[6] = {0};
    int lu = unw_exit_frame(&usp, uregs);
    if (lu <= 0 || usp != sp || memcmp(uregs, regs, sizeof regs)) {
      rc_log("RC_UNWIND_VERIFY: the walk to exit()'s caller by unwind rows found sp 0x%lx, libunwind's %s 0x%lx",
             (unsigned long)sp, lu > 0 ? "found" : "did not find it:", (unsigned long)usp);
      abort();
    }
    memset(uregs, 0, sizeof uregs);
    __asm__ volatile("" : : "r"(uregs) : "memory");
    /* what the tests look for (a mismatch says RC_UNWIND_VERIFY:, above) */
    rc_log("unwind: exit()'s caller by unwind rows, as libunwind's");
  }
  if (found <= 0) found = unw_exit_frame(&sp, regs);
  if (found > 0) {
    memcpy(bound.regs, regs, sizeof regs);
    bound.sp = sp;
    bound.tid = tid;
    __atomic_store_n(&bound.active, 1, __ATOMIC_RELEASE);
  }
  memset(regs, 0, sizeof regs);   /* no copy of the program's registers left in this dead frame */
  __asm__ volatile("" : : "r"(regs) : "memory");
  return found > 0;
}

/* The same walk by libunwind: 1 with *out_sp and out_regs as rows_exit_frame
 * gives them, else 0. */
__attribute__((noinline)) static int unw_exit_frame(uintptr_t *out_sp, uintptr_t out_regs[6])
{
  unw_context_t uc;
  unw_cursor_t cur;
  rc_unw_prepare();
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
    for (int i = 0; i < 6; i++) out_regs[i] = unw_get_reg(&cur, regs[i], &v) ? 0 : (uintptr_t)v;
    *out_sp = (uintptr_t)sp;
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
