/* Threads: a registry fed by an interposed pthread_create, and stop-the-world
 * with a signal (never ptrace, so reachcheck runs under gdb and strace): each
 * stopped thread's handler records its stack pointer, registers and
 * sigaltstack, then waits on a futex until the checker releases it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include "scanners/scanners.h"
#include "stack/timeline.h"
#include "stack/counters.h"
#include "stack/unwind.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_THREADS 16384
#define MAX_EXITED 4096

enum { T_FREE, T_LIVE, T_EXITED };
struct thread_rec {
  pid_t tid;
  int state;
  uintptr_t tp, stack_lo, stack_hi;
  unsigned long exit_seq;
};
static struct thread_rec *threads;
static int nthreads;
static rc_spinlock reg_lock = RC_SPINLOCK_INIT;
static unsigned long exit_seq;
static RC_TLS struct thread_rec *self_rec;

enum { S_SENT, S_STOPPED, S_GONE, S_RESUMED };
struct stop_rec {
  pid_t tid;
  int state;
  uintptr_t sp, tp;
  greg_t regs[NGREG];
  stack_t alt;
  uintptr_t entry_sp;   /* rc_api_sp: inside a check entry point, live from here up */
};
static struct stop_rec *stops;
static int nstops;
static int release_word;
static int stop_sig;

/* The helper (rc_helper_start): its tid and process, the job posted to it,
 * and the word it sleeps on while stopped (bumped by a post and by the
 * release). */
enum { J_NONE, J_POSTED, J_DONE };
static pid_t helper_tid, helper_pid;
static int helper_word, job_state;
static void (*job_fn)(void *);
static void *job_arg;
static void helper_jobs(int gen);

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

void rc_threads_lock(void) { rc_spin_lock(&reg_lock); }
void rc_threads_unlock(void) { rc_spin_unlock(&reg_lock); }
int rc_stop_signal(void) { return stop_sig; }

/* ---- registry ---- */
static struct thread_rec *reg_add_locked(pid_t tid, uintptr_t tp, uintptr_t lo, uintptr_t hi)
{
  struct thread_rec *r = NULL, *oldest = NULL;
  int exited = 0;
  for (int i = 0; i < nthreads; i++) {
    struct thread_rec *t = &threads[i];
    if (t->state == T_FREE || (t->state == T_EXITED && t->tp == tp)) { r = t; break; }
    if (t->state == T_EXITED) {
      exited++;
      if (!oldest || t->exit_seq < oldest->exit_seq) oldest = t;
    }
  }
  /* glibc caches at most 40 MiB of exited stacks; beyond MAX_EXITED records
   * the oldest descriptor has long been unmapped or reused. */
  if (!r && exited >= MAX_EXITED) r = oldest;
  if (!r && nthreads < MAX_THREADS) r = &threads[nthreads++];
  if (!r) return NULL;
  r->tid = tid;
  r->tp = tp;
  r->stack_lo = lo;
  r->stack_hi = hi;
  __atomic_store_n(&r->state, T_LIVE, __ATOMIC_RELEASE);
  return r;
}

static void register_self(uintptr_t lo, uintptr_t hi)
{
  rc_spin_lock(&reg_lock);
  self_rec = reg_add_locked(my_tid(), (uintptr_t)pthread_self(), lo, hi);
  rc_spin_unlock(&reg_lock);
}

static void self_exited(void *unused)
{
  (void)unused;
  rc_in_runtime++;
  rc_spin_lock(&reg_lock);
  if (self_rec) {
    self_rec->state = T_EXITED;
    self_rec->exit_seq = ++exit_seq;
  }
  rc_spin_unlock(&reg_lock);
  self_rec = NULL;
  rc_heap_thread_exit();
  rc_live_thread_exit();     /* stack/timeline.h: this thread's live delta joins the total */
  rc_counts_thread_exit();   /* stack/counters.h: this thread's counters join the totals */
  rc_unwind_thread_exit();   /* stack/unwind.h: its kept stacks go to the next thread */
  rc_in_runtime--;
}

/* The start record lives in an mmap'd pool, not the checked heap: glibc
 * keeps the start argument in the thread descriptor (a root) for the
 * thread's lifetime and beyond, so a freed heap record would make whatever
 * block later reuses its memory look reachable. */
struct start { void *(*fn)(void *); void *arg; struct start *next; };
static struct start *start_free;
static rc_spinlock start_lock = RC_SPINLOCK_INIT;
static struct start *start_pages[256];
static int start_npages;
#define START_PER_PAGE (65536 / sizeof(struct start))

static struct start *start_get(void)
{
  rc_spin_lock(&start_lock);
  struct start *s = start_free;
  if (!s) {
    struct start *page = start_npages < 256 ? rc_mmap(65536) : NULL;
    if (page) {
      start_pages[start_npages++] = page;
      for (size_t i = 1; i < 65536 / sizeof *page; i++) {
        page[i].next = start_free;
        start_free = &page[i];
      }
      s = &page[0];
    }
  } else {
    start_free = s->next;
  }
  rc_spin_unlock(&start_lock);
  return s;
}

static void start_put(struct start *s)
{
  rc_spin_lock(&start_lock);
  s->fn = NULL;   /* no longer in flight: its arg is stale */
  s->next = start_free;
  start_free = s;
  rc_spin_unlock(&start_lock);
}

static void *trampoline(void *p)
{
  struct start st = *(struct start *)p;
  start_put(p);
  rc_in_runtime++;
  pthread_attr_t a;
  void *addr = NULL;
  size_t size = 0;
  if (!pthread_getattr_np(pthread_self(), &a)) {
    if (pthread_attr_getstack(&a, &addr, &size)) addr = NULL, size = 0;   /* unknown: scanned from SP */
    pthread_attr_destroy(&a);
  }
  register_self((uintptr_t)addr, (uintptr_t)addr + size);
  rc_in_runtime--;
  void *r;
  pthread_cleanup_push(self_exited, NULL);
  r = st.fn(st.arg);
  pthread_cleanup_pop(1);
  return r;
}

EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
  static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  if (!real) real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
  struct start *st = start_get();
  if (!st) return EAGAIN;
  st->fn = fn;
  st->arg = arg;
  int r = real(t, attr, trampoline, st);
  if (r) start_put(st);
  return r;
}

/* Keep the stop signal deliverable: a thread that blocks every signal would
 * otherwise never stop (Boehm GC does the same for its suspend signal). */
EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
  static int (*real)(int, const sigset_t *, sigset_t *);
  if (!real) real = (int (*)(int, const sigset_t *, sigset_t *))dlsym(RTLD_NEXT, "pthread_sigmask");
  if (set && stop_sig && (how == SIG_BLOCK || how == SIG_SETMASK) && sigismember(set, stop_sig)) {
    sigset_t copy = *set;
    sigdelset(&copy, stop_sig);
    return real(how, &copy, old);
  }
  return real(how, set, old);
}

EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
  int r = pthread_sigmask(how, set, old);
  if (r) {
    errno = r;
    return -1;
  }
  return 0;
}

/* ---- stop the world ---- */
static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
  (void)sig;
  (void)si;
  int e = errno;   /* async-signal-safe from here on: syscalls and atomics only */
  pid_t tid = my_tid();
  int n = __atomic_load_n(&nstops, __ATOMIC_ACQUIRE);
  struct stop_rec *r = NULL;
  for (int i = 0; i < n; i++)
    if (stops[i].tid == tid && __atomic_load_n(&stops[i].state, __ATOMIC_ACQUIRE) == S_SENT) { r = &stops[i]; break; }
  if (!r) {
    errno = e;
    return;
  }
  int gen = __atomic_load_n(&release_word, __ATOMIC_ACQUIRE);
  volatile uintptr_t here = 0;
  r->sp = (uintptr_t)&here;
  r->tp = (uintptr_t)pthread_self();
  r->entry_sp = rc_api_sp;
  memcpy(r->regs, ((ucontext_t *)ucv)->uc_mcontext.gregs, sizeof r->regs);
  sigaltstack(NULL, &r->alt);
  __atomic_store_n(&r->state, S_STOPPED, __ATOMIC_RELEASE);
  if (tid == __atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE)) helper_jobs(gen);
  while (__atomic_load_n(&release_word, __ATOMIC_ACQUIRE) == gen)
    syscall(SYS_futex, &release_word, FUTEX_WAIT_PRIVATE, gen, NULL, NULL, 0);
  __atomic_store_n(&r->state, S_RESUMED, __ATOMIC_RELEASE);
  errno = e;
}

static int add_stop(pid_t tid)
{
  for (int i = 0; i < nstops; i++)
    if (stops[i].tid == tid) return 0;
  if (nstops >= MAX_THREADS) return 0;
  struct stop_rec *r = &stops[nstops];
  memset(r, 0, sizeof *r);
  r->tid = tid;
  r->state = S_SENT;
  __atomic_store_n(&nstops, nstops + 1, __ATOMIC_RELEASE);
  if (syscall(SYS_tgkill, getpid(), tid, stop_sig) != 0) __atomic_store_n(&r->state, S_GONE, __ATOMIC_RELEASE);
  return 1;
}

/* One pass over /proc/self/task (getdents64: opendir would allocate). */
static int signal_new_tasks(pid_t self)
{
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  int added = 0;
  long n;
  while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
      pid_t tid = 0;
      for (const char *c = d->d_name; *c; c++) tid = tid * 10 + (*c - '0');
      if (tid != self) added += add_stop(tid);
    }
  }
  close(fd);
  return added;
}

static void wait_stopped(double deadline)
{
  for (;;) {
    int pending = 0;
    for (int i = 0; i < nstops; i++)
      if (__atomic_load_n(&stops[i].state, __ATOMIC_ACQUIRE) == S_SENT) {
        /* the thread may have exited since it was listed */
        if (syscall(SYS_tgkill, getpid(), stops[i].tid, 0) != 0) __atomic_store_n(&stops[i].state, S_GONE, __ATOMIC_RELEASE);
        else pending++;
      }
    if (!pending || rc_now_ms() > deadline) return;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
}

/* The stop handler's action as installed (rc_threads_init), and the
 * program's action when the program replaced it: sigaction is not
 * interposed for the stop signal, and the raw rt_sigaction system call
 * never is. Then a stopped thread would run the program's handler instead
 * (or ignore the signal), the check would wait stop_timeout_ms and scan it
 * without its registers. So each check asks the kernel (one system call),
 * puts ours back while the world is stopped, and the program's again in
 * rc_world_start. Stops do not overlap: both callers hold rc_threads_lock. */
static struct sigaction stop_action, stop_prog;
static bool stop_replaced;

static void stop_handler_ensure(void)
{
  struct sigaction cur;
  if (sigaction(stop_sig, NULL, &cur) || ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == stop_handler)) return;
  static int warned;
  if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
    rc_log("the program replaced reachcheck's handler for signal %d, which stops threads for a check: it is put back "
           "while each check runs (the signal the program sends itself meanwhile stops a thread instead); "
           "stop_signal=N picks another signal", stop_sig);
  stop_prog = cur;
  stop_replaced = sigaction(stop_sig, &stop_action, NULL) == 0;
}

/* The task directory's link count is 2 plus the process's threads
 * (proc_task_getattr): 3 is the calling thread alone, and then no other
 * can be creating one. */
static bool alone(void)
{
  struct stat st;
  return !stat("/proc/self/task", &st) && st.st_nlink == 3;
}

int rc_world_stop(void)
{
  __atomic_store_n(&nstops, 0, __ATOMIC_RELEASE);
  /* Nothing to stop: one stat instead of the stop handler's check, the
   * records' mapping and the listing of /proc/self/task (open, two
   * getdents, close), in every single-threaded process's exit check. */
  if (alone()) return 0;
  stop_handler_ensure();
  if (!stops) stops = rc_mmap(sizeof(struct stop_rec) * MAX_THREADS);
  if (!stops) return -1;
  pid_t self = my_tid();
  double deadline = rc_now_ms() + (double)rc_opt.stop_timeout_ms;
  /* Threads created while we list: repeat until a pass finds none. */
  for (int round = 0; round < 16; round++) {
    if (!signal_new_tasks(self)) break;
    wait_stopped(deadline);
  }
  int stopped = 0;
  for (int i = 0; i < nstops; i++) {
    int st = __atomic_load_n(&stops[i].state, __ATOMIC_ACQUIRE);
    if (st == S_STOPPED && stops[i].tid == helper_tid) continue;   /* ours: not one of the program's threads */
    if (st == S_STOPPED) stopped++;
    else if (st == S_SENT)
      rc_log("thread %d did not stop within %ld ms (signal %d blocked?); scanning its whole stack", stops[i].tid,
             rc_opt.stop_timeout_ms, stop_sig);
  }
  return stopped;
}

void rc_world_start(void)
{
  __atomic_fetch_add(&release_word, 1, __ATOMIC_ACQ_REL);
  if (nstops) syscall(SYS_futex, &release_word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);   /* none: none waits */
  __atomic_fetch_add(&helper_word, 1, __ATOMIC_ACQ_REL);
  if (__atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE)) syscall(SYS_futex, &helper_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  double deadline = rc_now_ms() + 1000;
  for (int i = 0; i < nstops; i++)
    while (__atomic_load_n(&stops[i].state, __ATOMIC_ACQUIRE) == S_STOPPED && rc_now_ms() < deadline) sched_yield();
  __atomic_store_n(&nstops, 0, __ATOMIC_RELEASE);
  if (stop_replaced) {   /* the program's own action again (stop_handler_ensure) */
    sigaction(stop_sig, &stop_prog, NULL);
    stop_replaced = false;
  }
}

/* ---- roots ---- */
static const char *const reg_names[NGREG] = {"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp",
                                       "rbx", "rdx", "rax", "rcx", "rsp", "rip", "efl", "csgsfs", "err", "trapno",
                                       "oldmask", "cr2"};

const char *rc_reg_name(int reg) { return reg >= 0 && reg < NGREG ? reg_names[reg] : "?"; }

static struct thread_rec *find_rec(pid_t tid)
{
  for (int i = 0; i < nthreads; i++)
    if (threads[i].state == T_LIVE && threads[i].tid == tid) return &threads[i];
  return NULL;
}

/* Scan a thread's stack from sp. If sp lies outside the thread's own stack
 * (a coroutine after swapcontext, or a handler on a sigaltstack), scan the
 * region sp is in from sp up, and the whole pthread stack as well. */
static void stack_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx, pid_t tid, uintptr_t sp,
                        uintptr_t lo, uintptr_t hi, bool red_zone)
{
  const struct rc_root_range r = {.kind = RC_ROOT_STACK, .part = RC_PART_STACK, .thread = tid};
  /* A stopped thread's 128-byte red zone below SP is live; the checking
   * thread's is reachcheck's own dead callee frames. */
  uintptr_t from = red_zone && sp > 128 ? (sp - 128) & ~(uintptr_t)7 : sp & ~(uintptr_t)7;
  if (lo < hi && sp >= lo && sp < hi) {
    rc_root_clipped(maps, fn, ctx, from, hi, &r);
    return;
  }
  struct rc_hdr *h = rc_block_of(sp);
  if (h) {
    uintptr_t end = (uintptr_t)rc_hdr_user(h) + rc_hdr_size(h);
    fn(ctx, sp & ~(uintptr_t)7, end, &r);
  } else {
    const struct rc_map *m = rc_maps_find(maps, sp);
    if (m) rc_root_clipped(maps, fn, ctx, from, m->hi, &r);
  }
  if (lo < hi) rc_root_clipped(maps, fn, ctx, lo, hi, &r);
}

/* An address on the stack of the thread that ran rc_threads_init (the main
 * thread): its record's bounds are found from it at the first check. */
static uintptr_t main_anchor;

static void main_bounds(const struct rc_vec *maps, struct thread_rec *r)
{
  /* The main thread's stack grows: take the mapping as it is now, and its
   * top, which never moves, with it the first time. */
  const struct rc_map *m = rc_maps_find(maps, r->stack_hi ? r->stack_hi - 1 : main_anchor);
  if (!m) return;
  r->stack_lo = m->lo;
  if (!r->stack_hi) r->stack_hi = m->hi;
}

__attribute__((noinline)) static void self_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx)
{
  /* The checking thread: registers via getcontext into this frame, then the
   * stack from this frame outward (never from a copy). This frame sits on
   * stack the mark phase has just used for the globals: clear what getcontext
   * does not fill, or the marker's own stale candidates would be roots. */
  ucontext_t uc;
  memset(&uc, 0, sizeof uc);
  getcontext(&uc);
  pid_t tid = my_tid();
  /* Only the callee-saved registers: this thread called into reachcheck
   * (exit, the API, a handler's frame is on the stack), so by the ABI the
   * program's values in the others are dead, and what they hold now is
   * reachcheck's own (an address it just computed may be a block's). */
  static const int callee_saved[] = {REG_RBX, REG_RBP, REG_R12, REG_R13, REG_R14, REG_R15};
  uintptr_t sp = (uintptr_t)(&uc + 1);   /* above the saved registers: the others are not roots */
  /* At exit: from where the program called exit(), with its registers there
   * (scanners/stackbound.c); frames that returned before are dead. */
  const uintptr_t *xregs = rc_stackbound_self(tid, &sp);
  for (size_t k = 0; k < sizeof callee_saved / sizeof callee_saved[0]; k++) {
    int i = callee_saved[k];
    const struct rc_root_range r = {.kind = RC_ROOT_REGISTER, .part = RC_PART_REGISTER, .reg = i, .thread = tid};
    if (xregs) fn(ctx, (uintptr_t)&xregs[k], (uintptr_t)&xregs[k + 1], &r);
    else fn(ctx, (uintptr_t)&uc.uc_mcontext.gregs[i], (uintptr_t)&uc.uc_mcontext.gregs[i + 1], &r);
  }
  struct thread_rec *r = find_rec(tid);
  if (r && r->stack_lo == 0) main_bounds(maps, r);
  stack_roots(maps, fn, ctx, tid, sp, r ? r->stack_lo : 0, r ? r->stack_hi : 0, false);
  rc_tls_roots(maps, fn, ctx, (uintptr_t)pthread_self(), tid, false);
  asm volatile("" ::"r"(&uc) : "memory");
}

void rc_threads_roots(const struct rc_vec *maps, rc_root_fn fn, void *ctx)
{
  self_roots(maps, fn, ctx);
  for (int i = 0; i < nstops; i++) {
    struct stop_rec *s = &stops[i];
    int st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
    struct thread_rec *r = find_rec(s->tid);
    if (r && r->stack_lo == 0) main_bounds(maps, r);
    if (st == S_STOPPED && s->tid == helper_tid) continue;   /* the helper: reachcheck's frames, no block of the program's */
    if (st == S_STOPPED) {
      for (int k = 0; k < NGREG; k++) {
        const struct rc_root_range reg = {.kind = RC_ROOT_REGISTER, .part = RC_PART_REGISTER, .reg = k, .thread = s->tid};
        fn(ctx, (uintptr_t)&s->regs[k], (uintptr_t)&s->regs[k + 1], &reg);
      }
      /* Stopped inside a check entry point: the frames below its caller are reachcheck's. */
      bool inside = s->entry_sp > s->sp && r && s->entry_sp < r->stack_hi && s->sp >= r->stack_lo;
      stack_roots(maps, fn, ctx, s->tid, inside ? s->entry_sp : s->sp, r ? r->stack_lo : 0, r ? r->stack_hi : 0, !inside);
      rc_tls_roots(maps, fn, ctx, s->tp, s->tid, false);
    } else if (st == S_SENT && r) {
      /* Did not stop: its whole stack and descriptor, racy but never missed. */
      stack_roots(maps, fn, ctx, s->tid, r->stack_lo, r->stack_lo, r->stack_hi, false);
      rc_tls_roots(maps, fn, ctx, r->tp, s->tid, false);
    }
  }
  /* Threads created but not started yet: their argument is held only by
   * the start record. */
  for (int p = 0; p < start_npages; p++)
    for (size_t k = 0; k < START_PER_PAGE; k++) {
      struct start *st = &start_pages[p][k];
      static const struct rc_root_range arg = {.kind = RC_ROOT_OTHER, .part = RC_PART_START_ARG};
      if (st->fn) fn(ctx, (uintptr_t)&st->arg, (uintptr_t)&st->arg + sizeof st->arg, &arg);
    }
  /* Exited threads whose stacks glibc caches: their descriptor and DTV stay
   * allocated and are reachable only through ld.so's stack cache. Only
   * while the stack block is still one private writable mapping from the
   * stack's bottom to past the descriptor: once glibc unmapped it, whatever
   * was mapped there since holds no descriptor (a stale "DTV" word led the
   * scan into the kernel's vvar pages: docs/roots.md). */
  for (int i = 0; i < nthreads; i++) {
    struct thread_rec *t = &threads[i];
    if (t->state != T_EXITED) continue;
    bool reused = false;
    for (int k = 0; k < nthreads; k++)
      if (threads[k].state == T_LIVE && threads[k].tp == t->tp) reused = true;
    const struct rc_map *m = rc_maps_find(maps, t->tp);
    if (reused || !rc_map_private(m, 3)) continue;
    if (t->stack_lo && t->stack_hi && (rc_maps_find(maps, t->stack_lo) != m || t->stack_hi > m->hi)) continue;
    rc_tls_roots(maps, fn, ctx, t->tp, t->tid, true);
  }
}

/* ---- init and fork ---- */
void rc_threads_after_fork_child(void)
{
  pid_t tid = my_tid();
  for (int i = 0; i < nthreads; i++) {
    struct thread_rec *t = &threads[i];
    if (t == self_rec) t->tid = tid;
    else if (t->state == T_LIVE) {
      t->state = T_EXITED;
      t->exit_seq = ++exit_seq;
    }
  }
  nstops = 0;
  rc_spin_unlock(&reg_lock);
}

void rc_threads_init(void)
{
  threads = rc_mmap(sizeof(struct thread_rec) * MAX_THREADS);
  if (!threads) rc_die("cannot allocate the thread registry");
  stop_sig = rc_opt.stop_signal ? (int)rc_opt.stop_signal : SIGRTMAX - 2;
  memset(&stop_action, 0, sizeof stop_action);
  stop_action.sa_sigaction = stop_handler;
  stop_action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&stop_action.sa_mask);
  if (sigaction(stop_sig, &stop_action, NULL)) rc_die("cannot install the stop signal handler for signal %d", stop_sig);
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, stop_sig);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  /* The main thread: its stack mapping's bounds are read at check time
   * (main_bounds), from the maps the check reads anyway. Reading
   * /proc/self/maps here for the top cost every process ~60 us, a sixth of
   * its start-up (bench/RESULTS.md). */
  volatile int here = 0;
  main_anchor = (uintptr_t)&here;
  register_self(0, 0);
}

bool rc_threads_stack_overlaps(uintptr_t lo, uintptr_t hi)
{
  for (int i = 0; i < nthreads; i++)
    if (threads[i].state != T_FREE && threads[i].stack_lo < hi && lo < threads[i].stack_hi) return true;
  return false;
}

/* ---- the helper: a second core for a stopped world's work ----
 * A thread of reachcheck's own that sleeps until the world is stopped; then
 * its stop handler, which runs with every signal blocked and touches only
 * memory the checker hands it, runs the jobs the checking thread posts, one
 * at a time, until the release. It is stopped like any thread (its stack and
 * registers hold none of the program's pointers), so nothing about stopping
 * changes; it is left out of the thread count. */
static void *helper_main(void *arg)
{
  (void)arg;
  rc_in_runtime++;   /* internal: it never allocates, but say so (rc_thread_spawn) */
  __atomic_store_n(&helper_tid, my_tid(), __ATOMIC_RELEASE);
  for (;;) {   /* the stop handler does the work; this loop only sleeps */
    int w = __atomic_load_n(&helper_word, __ATOMIC_ACQUIRE);
    syscall(SYS_futex, &helper_word, FUTEX_WAIT_PRIVATE, w, NULL, NULL, 0);
  }
  return NULL;
}

/* In the helper's stop handler: run posted jobs until the release. */
static void helper_jobs(int gen)
{
  for (;;) {
    int w = __atomic_load_n(&helper_word, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&job_state, __ATOMIC_ACQUIRE) == J_POSTED) {
      job_fn(job_arg);
      __atomic_store_n(&job_state, J_DONE, __ATOMIC_RELEASE);
      syscall(SYS_futex, &job_state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
      continue;
    }
    if (__atomic_load_n(&release_word, __ATOMIC_ACQUIRE) != gen) return;
    syscall(SYS_futex, &helper_word, FUTEX_WAIT_PRIVATE, w, NULL, NULL, 0);
  }
}

/* Whether a seccomp filter may be in force ("Seccomp:" of
 * /proc/self/status not 0, or unreadable). A sandboxed program's filter
 * may kill the process on clone; the helper only saves time, so it is not
 * started under one (the check itself makes no new kind of system call:
 * it opens and reads /proc files already). */
static bool seccomp_maybe(void)
{
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  char buf[8192];
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)k;
  close(fd);
  buf[n] = 0;
  const char *p = strstr(buf, "\nSeccomp:");
  if (!p) return false;   /* a kernel without seccomp */
  p += strlen("\nSeccomp:");
  while (*p == ' ' || *p == '\t') p++;
  return *p != '0';
}

int rc_helper_start(void)
{
  if (__atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE) && helper_pid == getpid()) return 0;
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) || CPU_COUNT(&cpus) < 2) return -1;   /* no second core to use */
  if (seccomp_maybe()) return -1;
  __atomic_store_n(&helper_tid, 0, __ATOMIC_RELEASE);   /* a forked child's copy names its parent's thread */
  helper_pid = getpid();
  if (rc_thread_spawn("rc-helper", helper_main, NULL)) return -1;
  /* it names itself first thing; a stop that came before would find it
   * an ordinary thread (then rc_helper_post says no) */
  for (int i = 0; i < 100000 && !__atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE); i++) sched_yield();
  return __atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE) ? 0 : -1;
}

bool rc_helper_self(void) { return helper_tid && my_tid() == helper_tid; }

bool rc_helper_post(void (*fn)(void *), void *arg)
{
  pid_t t = __atomic_load_n(&helper_tid, __ATOMIC_ACQUIRE);
  if (!t || helper_pid != getpid()) return false;   /* none, or a forked copy (the helper stayed in the parent) */
  bool stopped = false;
  for (int i = 0; i < nstops; i++)
    if (stops[i].tid == t && __atomic_load_n(&stops[i].state, __ATOMIC_ACQUIRE) == S_STOPPED) stopped = true;
  if (!stopped || __atomic_load_n(&job_state, __ATOMIC_ACQUIRE) == J_POSTED) return false;
  job_fn = fn;
  job_arg = arg;
  __atomic_store_n(&job_state, J_POSTED, __ATOMIC_RELEASE);
  __atomic_fetch_add(&helper_word, 1, __ATOMIC_ACQ_REL);
  syscall(SYS_futex, &helper_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  return true;
}

void rc_helper_join(void)
{
  int st;
  while ((st = __atomic_load_n(&job_state, __ATOMIC_ACQUIRE)) == J_POSTED)
    syscall(SYS_futex, &job_state, FUTEX_WAIT_PRIVATE, st, NULL, NULL, 0);
  __atomic_store_n(&job_state, J_NONE, __ATOMIC_RELEASE);
}

int rc_thread_spawn(const char *name, void *(*fn)(void *), void *arg)
{
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);   /* ours: the stop signal stays open */
  pthread_t t;
  int err = pthread_create(&t, NULL, fn, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) return err;
  pthread_setname_np(t, name);
  pthread_detach(t);
  return 0;
}
