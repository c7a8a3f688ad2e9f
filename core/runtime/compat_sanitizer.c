/* The sanitizers' common allocator and report interface
 * (<sanitizer/allocator_interface.h> and <sanitizer/common_interface_defs.h>,
 * as clang ships them; gcc 12 only the second) over reachcheck's heap: a program that asks
 * LeakSanitizer how much it has allocated, whether a pointer is a live
 * block, where reports go, or for its own stack, gets the same answers
 * linked with -lreachcheck or preloaded. Not provided: the malloc and free
 * hooks (__sanitizer_install_malloc_and_free_hooks), which would put a
 * test on every malloc and free for every program. docs/compare.md has the
 * table. */
#define _GNU_SOURCE
#include <malloc.h>
#include <string.h>
#include <unistd.h>
#include <gc/gc.h>
#include "heap/heap.h"
#include "runtime/runtime.h"
#include "stack/counters.h"
#include "stack/stack.h"

/* LeakSanitizer reserves what was asked for (its chunks record the
 * requested size); so does reachcheck. */
RC_EXPORT size_t __sanitizer_get_estimated_allocated_size(size_t size) { return size; }

RC_EXPORT int __sanitizer_get_ownership(const volatile void *p) { return rc_heap_owns((const void *)p); }

/* The size the block was asked with: malloc_usable_size's answer, which
 * is already 0 for NULL and for a pointer that is not a live block (where
 * LeakSanitizer would stop the program). */
RC_EXPORT size_t __sanitizer_get_allocated_size(const volatile void *p) { return malloc_usable_size((void *)p); }

/* Bytes of the live blocks the program allocated, as the allocation
 * counters have them (exact; the blocks made while reachcheck_disable() or
 * __lsan_disable() was in effect have no stack and are not in it, nor are
 * the runtime's own). */
RC_EXPORT size_t __sanitizer_get_current_allocated_bytes(void)
{
  uint64_t bytes, blocks;
  rc_counts_live_total(&bytes, &blocks);
  return (size_t)bytes;
}

/* The tracked heap is Boehm's: what it has mapped, what of that is free,
 * and what it gave back to the system. */
RC_EXPORT size_t __sanitizer_get_heap_size(void) { return rc_heap_ready() ? GC_get_heap_size() : 0; }
RC_EXPORT size_t __sanitizer_get_free_bytes(void) { return rc_heap_ready() ? GC_get_free_bytes() : 0; }
RC_EXPORT size_t __sanitizer_get_unmapped_bytes(void) { return rc_heap_ready() ? GC_get_unmapped_bytes() : 0; }

/* Reports to PATH.PID from now on ("stderr", or empty, and "stdout" as
 * themselves), as the log_path option (LSAN_OPTIONS log_path) does from
 * the start. */
RC_EXPORT void __sanitizer_set_report_path(const char *path)
{
  if (!path) return;
  rc_in_runtime++;
  rc_log_path_done();   /* the previous file goes if nothing was written to it */
  if (!path[0]) path = "stderr";
  if (!strcmp(path, "stderr") && rc_err_fd != STDERR_FILENO) dup2(STDERR_FILENO, rc_err_fd);
  rc_opt.log_path = rc_strdup_internal(path);
  rc_log_path_open();
  rc_in_runtime--;
}

/* The caller's stack, a line a frame as in a leak report. */
RC_EXPORT __attribute__((noinline)) void __sanitizer_print_stack_trace(void)
{
  RC_AT_HERE(at);
  rc_in_runtime++;
  uint32_t stack = rc_heap_ready() ? rc_depot_capture(&at) : 0;
  struct rc_buf b;
  rc_buf_init(&b, rc_err_fd);
  rc_stack_format(&b, stack, RC_STACK_FRAMES, "    ", 0);
  rc_buf_flush(&b);
  rc_in_runtime--;
}
