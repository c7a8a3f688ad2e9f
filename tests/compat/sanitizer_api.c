/* The sanitizers' allocator and report interface (allocator_interface.h,
 * common_interface_defs.h), and glibc's mallinfo2/mallinfo, under
 * reachcheck: exact answers for known blocks, the caller's stack on stderr, and __sanitizer_set_report_path
 * taking the report off stderr. Leaks one 48-byte block on purpose.
 * Declared here as the headers declare them (gcc 12 ships no
 * allocator_interface.h); weak in the preloaded build (WEAK), whose
 * program links with no library that defines them.
 * usage: sanitizer_api [REPORT_PATH] */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef WEAK
#define W __attribute__((weak))
#else
#define W
#endif
size_t __sanitizer_get_estimated_allocated_size(size_t size) W;
int __sanitizer_get_ownership(const volatile void *p) W;
size_t __sanitizer_get_allocated_size(const volatile void *p) W;
size_t __sanitizer_get_current_allocated_bytes(void) W;
size_t __sanitizer_get_heap_size(void) W;
size_t __sanitizer_get_free_bytes(void) W;
size_t __sanitizer_get_unmapped_bytes(void) W;
void __sanitizer_set_report_path(const char *path) W;
void __sanitizer_print_stack_trace(void) W;

void *volatile g_sink;

__attribute__((noinline)) static void show_my_stack(void)
{
  __sanitizer_print_stack_trace();
  __asm__ volatile("" ::: "memory");   /* not a tail call: this frame stays */
}

__attribute__((noinline)) static void leak_one(void)
{
  g_sink = malloc(48);
  g_sink = NULL;
}

int main(int argc, char **argv)
{
#ifdef WEAK
  if (!__sanitizer_get_ownership) {
    printf("the runtime is not loaded\n");
    return 3;
  }
#endif
  int local = 0;
  setvbuf(stdout, NULL, _IONBF, 0);   /* stdio makes no buffer between the two readings */
  size_t before = __sanitizer_get_current_allocated_bytes();
  struct mallinfo2 m0 = mallinfo2();
  struct mallinfo i0 = mallinfo();
  char *a = malloc(1000), *b = calloc(10, 30), *c = malloc(0);
  size_t during = __sanitizer_get_current_allocated_bytes();
  struct mallinfo2 m1 = mallinfo2();
  struct mallinfo i1 = mallinfo();
  printf("allocated %zu\n", during - before);
  printf("mallinfo2 %zu, mallinfo %d, arena %s\n", m1.uordblks - m0.uordblks, i1.uordblks - i0.uordblks,
         m1.arena >= m1.uordblks && m1.arena == (size_t)i1.arena ? "covers them" : "does not cover them");
  printf("ownership %d %d %d %d %d %d\n", __sanitizer_get_ownership(a), __sanitizer_get_ownership(b),
         __sanitizer_get_ownership(c), __sanitizer_get_ownership(a + 1), __sanitizer_get_ownership(&local),
         __sanitizer_get_ownership(NULL));
  printf("sizes %zu %zu %zu %zu\n", __sanitizer_get_allocated_size(a), __sanitizer_get_allocated_size(b),
         __sanitizer_get_allocated_size(c), __sanitizer_get_allocated_size(NULL));
  printf("estimated %zu\n", __sanitizer_get_estimated_allocated_size(123));
  free(a);
  free(b);
  free(c);
  printf("after free: allocated %zu, ownership %d\n", __sanitizer_get_current_allocated_bytes() - before,
         __sanitizer_get_ownership(a));
  size_t heap = __sanitizer_get_heap_size(), fr = __sanitizer_get_free_bytes();
  printf("heap %s\n", heap >= 1000 && fr <= heap && __sanitizer_get_unmapped_bytes() <= heap ? "consistent" : "inconsistent");
  show_my_stack();
  if (argc > 1) __sanitizer_set_report_path(argv[1]);
  leak_one();
  return 0;
}
