/* gperftools' HeapLeakChecker over reachcheck: a drop-in for
 * <gperftools/heap-checker.h>. Put this directory's parent
 * (include/compat, installed as include/reachcheck/compat) first on the
 * include path, drop -ltcmalloc, and run under `reachcheck --` (or link
 * libreachcheck and define REACHCHECK_LINKED, as the CMake target and
 * pkg-config file do).
 *
 *   HeapLeakChecker checker("name");   // a scope: blocks allocated from here on
 *   ...
 *   if (!checker.NoLeaks()) ...         // leaked blocks of the scope: printed, counted
 *   checker.BytesLeaked(), checker.ObjectsLeaked()
 *   HeapLeakChecker::NoGlobalLeaks()    // the whole program, now
 *   HeapLeakChecker::CancelGlobalCheck()// no whole-program check at exit
 *   HeapLeakChecker::IgnoreObject(p) / UnIgnoreObject(p)
 *   { HeapLeakChecker::Disabler d; ... } // blocks allocated here are ignored
 *
 * Leaks are blocks no root reaches (globals, thread stacks and registers,
 * TLS, ignored blocks): cycles are leaks, interior pointers keep blocks.
 * QuickNoLeaks, BriefNoLeaks, SameHeap, QuickSameHeap and BriefSameHeap are
 * NoLeaks, as in gperftools 2.x. HEAPCHECK (minimal, normal, strict,
 * draconian, as-is, local) selects the whole-program check; under
 * draconian every block of a checker's scope not freed is a leak.
 * Without the runtime the checker is inactive: NoLeaks() is true, as in
 * gperftools without HEAPCHECK, after one note on stderr.
 * C++11 and later. */
#ifndef REACHCHECK_COMPAT_GPERFTOOLS_HEAP_CHECKER_H
#define REACHCHECK_COMPAT_GPERFTOOLS_HEAP_CHECKER_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <reachcheck.h>

extern "C" {
/* core/compat_gperf.c */
REACHCHECK_API long reachcheck_heapcheck_scope_end(uint32_t token, struct reachcheck_result *out, int print);
REACHCHECK_API long reachcheck_heapcheck_global(struct reachcheck_result *out, int print);
REACHCHECK_API void reachcheck_heapcheck_cancel(void);
REACHCHECK_API int reachcheck_unignore(const void *p);
}

class HeapLeakChecker {
 public:
  enum ShouldSymbolize { SYMBOLIZE, DO_NOT_SYMBOLIZE };

  /* Starts a scope named `name` (copied, at most 127 bytes: the checker
   * allocates nothing from the heap it checks). */
  explicit HeapLeakChecker(const char *name) : token_(0), checked_(false), bytes_(0), objects_(0)
  {
    snprintf(name_, sizeof name_, "%s", name ? name : "");
    Rt rt;
    if (rt.active) token_ = rt.scope_begin();
  }
  /* gperftools treats a checker that never checked as a bug in the test. */
  ~HeapLeakChecker()
  {
    if (!checked_ && token_) {
      fprintf(stderr, "reachcheck: HeapLeakChecker \"%s\" destroyed without NoLeaks() being called\n", name_);
      fflush(stderr);
    }
  }

  static bool IsActive() { return Rt().active; }

  bool NoLeaks() { return DoNoLeaks(DO_NOT_SYMBOLIZE); }
  bool QuickNoLeaks() { return NoLeaks(); }
  bool BriefNoLeaks() { return NoLeaks(); }
  bool SameHeap() { return NoLeaks(); }
  bool QuickSameHeap() { return NoLeaks(); }
  bool BriefSameHeap() { return NoLeaks(); }

  /* The leaks of the last NoLeaks() (direct + indirect, unsuppressed). */
  ssize_t BytesLeaked() const { return checked_ ? bytes_ : 0; }
  ssize_t ObjectsLeaked() const { return checked_ ? objects_ : 0; }

  /* Leaks of the scope, printed with their allocation stacks; false if any.
   * The dead stack below the caller is cleared first, so a pointer left
   * there by a function that returned keeps nothing alive. reachcheck
   * always symbolizes. */
  __attribute__((noinline)) bool DoNoLeaks(ShouldSymbolize)
  {
    checked_ = true;
    reachcheck_scrub_stack();
    return CheckScope();
  }

  /* The whole program now, as the at-exit check of HEAPCHECK's mode sees it. */
  static __attribute__((noinline)) bool NoGlobalLeaks()
  {
    reachcheck_scrub_stack();
    return CheckGlobal();
  }

  static void CancelGlobalCheck()
  {
    Rt rt;
    if (rt.active) rt.cancel();
  }

  /* The block containing ptr is never a leak, and what it points to is
   * reachable. Returns ptr. */
  template <typename T>
  static T *IgnoreObject(T *ptr)
  {
    DoIgnoreObject(static_cast<const void *>(ptr));
    return ptr;
  }
  static void UnIgnoreObject(const void *ptr)
  {
    Rt rt;
    if (rt.active && rt.unignore(ptr) != 0)
      fprintf(stderr, "reachcheck: UnIgnoreObject(%p): not an ignored heap block\n", ptr);
  }

  /* Blocks this thread allocates while a Disabler lives are ignored. */
  class Disabler {
   public:
    Disabler()
    {
      Rt rt;
      if ((on_ = rt.active)) rt.disable();
    }
    ~Disabler()
    {
      Rt rt;
      if (on_ && rt.active) rt.enable();
    }

   private:
    bool on_;
    Disabler(const Disabler &);
    void operator=(const Disabler &);
  };

 private:
  /* The runtime's entry points: direct calls when libreachcheck is linked
   * (REACHCHECK_LINKED), else looked up at run time (dlsym), as the RC_*
   * macros of <reachcheck.h> do. */
  struct Rt {
    bool active;
    int (*is_active)(void);
    uint32_t (*scope_begin)(void);
    long (*scope_end)(uint32_t, struct reachcheck_result *, int);
    long (*global)(struct reachcheck_result *, int);
    void (*cancel)(void);
    int (*ignore)(const void *);
    int (*unignore)(const void *);
    void (*disable)(void);
    void (*enable)(void);
    Rt()
    {
#ifdef REACHCHECK_LINKED
      is_active = reachcheck_active;
      scope_begin = reachcheck_scope_begin;
      scope_end = reachcheck_heapcheck_scope_end;
      global = reachcheck_heapcheck_global;
      cancel = reachcheck_heapcheck_cancel;
      ignore = reachcheck_ignore;
      unignore = reachcheck_unignore;
      disable = reachcheck_disable;
      enable = reachcheck_enable;
#else
      reachcheck_detail_sym(&is_active, "reachcheck_active");
      reachcheck_detail_sym(&scope_begin, "reachcheck_scope_begin");
      reachcheck_detail_sym(&scope_end, "reachcheck_heapcheck_scope_end");
      reachcheck_detail_sym(&global, "reachcheck_heapcheck_global");
      reachcheck_detail_sym(&cancel, "reachcheck_heapcheck_cancel");
      reachcheck_detail_sym(&ignore, "reachcheck_ignore");
      reachcheck_detail_sym(&unignore, "reachcheck_unignore");
      reachcheck_detail_sym(&disable, "reachcheck_disable");
      reachcheck_detail_sym(&enable, "reachcheck_enable");
#endif
      active = is_active && scope_begin && scope_end && global && cancel && ignore && unignore && disable &&
               enable && is_active();
    }
  };

  static bool Inactive(const char *what)
  {
    static bool noted;
    if (!noted) {
      noted = true;
      fprintf(stderr, "reachcheck: note: the runtime is not loaded; HeapLeakChecker %s checks nothing\n", what);
    }
    return true;
  }

  static void DoIgnoreObject(const void *ptr)
  {
    Rt rt;
    if (rt.active && rt.ignore(ptr) != 0)
      fprintf(stderr, "reachcheck: IgnoreObject(%p): not inside a live heap block\n", ptr);
  }

  bool CheckScope()
  {
    Rt rt;
    if (!rt.active || !token_) return Inactive("NoLeaks()");
    struct reachcheck_result r;
    long n = rt.scope_end(token_, &r, 1);
    if (n < 0) {
      fprintf(stderr, "reachcheck: HeapLeakChecker \"%s\": the leak check could not run\n", name_);
      return false;
    }
    objects_ = (ssize_t)(r.direct_blocks + r.indirect_blocks);
    bytes_ = (ssize_t)(r.direct_bytes + r.indirect_bytes);
    if (n) {
      fprintf(stderr, "Leak check %s detected leaks of %zd bytes in %zd objects\n", name_, bytes_, objects_);
      fflush(stderr);
    }
    return n == 0;
  }

  static bool CheckGlobal()
  {
    Rt rt;
    if (!rt.active) return Inactive("NoGlobalLeaks()");
    struct reachcheck_result r;
    long n = rt.global(&r, 1);
    if (n > 0) {
      fprintf(stderr, "Leak check _main_ detected leaks of %llu bytes in %llu objects\n",
              (unsigned long long)(r.direct_bytes + r.indirect_bytes),
              (unsigned long long)(r.direct_blocks + r.indirect_blocks));
      fflush(stderr);
    }
    return n == 0;
  }

  char name_[128];
  uint32_t token_;
  bool checked_;
  ssize_t bytes_, objects_;

  HeapLeakChecker(const HeapLeakChecker &);
  void operator=(const HeapLeakChecker &);
};

#endif
