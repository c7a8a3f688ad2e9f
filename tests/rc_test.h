/* Helpers shared by the reachcheck test programs.
 *
 * The test programs are compiled with -O0 -g -fno-builtin -fno-inline
 * -fno-omit-frame-pointer (RC_TEST_CODEGEN, tests/cmake/rc_tests.cmake): -O0 keeps every
 * malloc/free pair and every store, -fno-builtin stops gcc from treating
 * malloc/free/memset as builtins it may elide.
 *
 * Stale copies: a conservative checker cannot tell a dead stack slot or a
 * caller-saved register from a live one. Every block a test means to leak is
 * allocated in a noinline helper that does not return the pointer, and the
 * caller runs rc_scrub() before it exits: rc_scrub() overwrites the dead stack
 * below its caller and clears the caller-saved registers (general purpose and
 * vector). Blocks meant to stay alive are kept in globals or volatile locals.
 */
#ifndef RC_TEST_H
#define RC_TEST_H

#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RC_NOINLINE __attribute__((noinline, noclone, used))
/* The compiler must assume `p` escapes and memory changed. */
#define rc_barrier(p) __asm__ __volatile__("" : : "r"(p) : "memory")
#define rc_compiler_barrier() __asm__ __volatile__("" : : : "memory")

/* The block every "not a leak" test leaks on purpose, so that a checker that
 * silently did not run fails the test: expect direct 1 block of this size. */
#define RC_KNOWN_SIZE 77

#ifdef __cplusplus
extern "C" {
#endif

static inline void rc_fail(const char *what)
{
  fprintf(stderr, "TEST PROGRAM FAILURE: %s\n", what);
  fflush(stderr);
  _exit(99);
}
#define RC_CHECK(cond) do { if (!(cond)) rc_fail(#cond " at " __FILE__ ":" RC_STR(__LINE__)); } while (0)
#define RC_STR2(x) #x
#define RC_STR(x) RC_STR2(x)

/* Clear the general-purpose caller-saved registers and all vector registers
 * the CPU has (glibc's memcpy/memset keep data in ymm/zmm16-31 on AVX-512). */
static __attribute__((noinline, unused)) void rc_clear_regs(void)
{
  __asm__ __volatile__(
      "xor %%eax, %%eax\n\t"
      "xor %%ecx, %%ecx\n\t"
      "xor %%edx, %%edx\n\t"
      "xor %%esi, %%esi\n\t"
      "xor %%edi, %%edi\n\t"
      "xor %%r8d, %%r8d\n\t"
      "xor %%r9d, %%r9d\n\t"
      "xor %%r10d, %%r10d\n\t"
      "xor %%r11d, %%r11d\n\t"
      "pxor %%xmm0, %%xmm0\n\t"
      "pxor %%xmm1, %%xmm1\n\t"
      "pxor %%xmm2, %%xmm2\n\t"
      "pxor %%xmm3, %%xmm3\n\t"
      "pxor %%xmm4, %%xmm4\n\t"
      "pxor %%xmm5, %%xmm5\n\t"
      "pxor %%xmm6, %%xmm6\n\t"
      "pxor %%xmm7, %%xmm7\n\t"
      "pxor %%xmm8, %%xmm8\n\t"
      "pxor %%xmm9, %%xmm9\n\t"
      "pxor %%xmm10, %%xmm10\n\t"
      "pxor %%xmm11, %%xmm11\n\t"
      "pxor %%xmm12, %%xmm12\n\t"
      "pxor %%xmm13, %%xmm13\n\t"
      "pxor %%xmm14, %%xmm14\n\t"
      "pxor %%xmm15, %%xmm15\n\t"
      :
      :
      : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "xmm0", "xmm1", "xmm2",
        "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "memory");
  if (__builtin_cpu_supports("avx"))
    __asm__ __volatile__("vzeroall" ::: "memory");
  if (__builtin_cpu_supports("avx512f"))
    __asm__ __volatile__(
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
        "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
        "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        ::: "memory");
}

/* Zero 16 KiB of dead stack below the caller, then clear the caller-saved
 * registers. Call it from the outermost frame (main, or a thread's start
 * function) after the leaking helpers have returned. */
static __attribute__((noinline, unused)) void rc_scrub(void)
{
  volatile char buf[16384];
  memset((char *)buf, 0, sizeof buf);
  rc_barrier(buf);
  rc_clear_regs();
}

/* Leak exactly one block of RC_KNOWN_SIZE bytes. */
static RC_NOINLINE __attribute__((unused)) void rc_leak_known(void)
{
  void *volatile p = malloc(RC_KNOWN_SIZE);
  RC_CHECK(p != NULL);
  memset(p, 0x5a, RC_KNOWN_SIZE);
  rc_barrier(p);
  p = NULL;
}

/* Tell the harness (tests/run_case.py --per-pid-json) which process is which. */
static __attribute__((unused)) void rc_announce(const char *role)
{
  printf("rc-pid: %s %ld\n", role, (long)getpid());
  fflush(stdout);
}

#ifdef __cplusplus
}
#endif

#endif
