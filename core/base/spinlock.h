/* The one lock of the runtime's short sections: a word, spun on briefly,
 * then slept on (futex). Held for a few dozen instructions (a slot, a depot
 * insert, a registry entry); never across a system call that blocks, so it
 * is safe to take with signals blocked and with the world about to stop.
 * Long sections (libdw in the symbolizer) use a mutex instead. */
#ifndef RC_SPINLOCK_H
#define RC_SPINLOCK_H
#include <linux/futex.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct { int word; } rc_spinlock;
#define RC_SPINLOCK_INIT {0}

static inline bool rc_spin_trylock(rc_spinlock *l)
{
  return !__atomic_load_n(&l->word, __ATOMIC_RELAXED) && !__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE);
}
/* A waiter spins RC_SPIN_PAUSES rounds, then sleeps on a futex until the
 * holder lets go (word 2: locked, someone may sleep; Drepper, "Futexes Are
 * Tricky", mutex 2). With more threads than CPUs the holder may be
 * descheduled or page-faulting on fresh memory under the lock (a slab
 * refill writes the new objects' headers), and spinning waiters would burn
 * whole time slices: bench/scale.c with 128 threads on 2 CPUs, 1M blocks,
 * took 4.9 s instead of 0.6. Yielding instead (the previous design) still
 * cost 18% of a 16M-block run with 128 threads in sched_yield; a sleeping
 * waiter costs nothing until it is woken. A waiter interrupted by a signal
 * (the stop signal) runs its handler and waits again. */
#define RC_SPIN_PAUSES 64
static inline void rc_futex(int *w, int op, int val)
{
  syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}
static inline void rc_spin_lock(rc_spinlock *l)
{
  int c = 0;
  if (__atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
  for (unsigned spins = 0; spins < RC_SPIN_PAUSES; spins++) {
    __builtin_ia32_pause();
    c = 0;
    if (!__atomic_load_n(&l->word, __ATOMIC_RELAXED) &&
        __atomic_compare_exchange_n(&l->word, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
      return;
  }
  while (__atomic_exchange_n(&l->word, 2, __ATOMIC_ACQUIRE)) rc_futex(&l->word, FUTEX_WAIT_PRIVATE, 2);
}
/* Try for at most `spins` rounds (a signal handler that must not wait for
 * the thread it interrupted); true when taken. */
static inline bool rc_spin_lock_bounded(rc_spinlock *l, int spins)
{
  for (int i = 0; !rc_spin_trylock(l); i++) {
    if (i == spins) return false;
    __builtin_ia32_pause();
  }
  return true;
}
static inline void rc_spin_unlock(rc_spinlock *l)
{
  if (__atomic_exchange_n(&l->word, 0, __ATOMIC_RELEASE) == 2) rc_futex(&l->word, FUTEX_WAKE_PRIVATE, 1);
}
/* A forked child: the holder's thread is gone. */
static inline void rc_spin_reset(rc_spinlock *l) { __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE); }
#endif
