/* The one spinlock of the runtime: a word, test-and-test-and-set. Held for
 * a few dozen instructions (a slot, a depot insert, a registry entry); never
 * across a system call that blocks, so it is safe to take with signals
 * blocked and with the world about to stop. Long sections (libdw in the
 * symbolizer) use a mutex instead. */
#ifndef RC_SPINLOCK_H
#define RC_SPINLOCK_H
#include <sched.h>
#include <stdbool.h>

typedef struct { int word; } rc_spinlock;
#define RC_SPINLOCK_INIT {0}

static inline bool rc_spin_trylock(rc_spinlock *l)
{
  return !__atomic_load_n(&l->word, __ATOMIC_RELAXED) && !__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE);
}
/* Past RC_SPIN_PAUSES rounds a waiter yields its CPU: with more threads
 * than CPUs the holder may be descheduled, or page-faulting on fresh memory
 * under the lock (a slab refill writes the new objects' headers), and the
 * waiters would spin out whole time slices: bench/scale.c with 128
 * threads on 2 CPUs, 1M blocks, took 4.9 s instead of 0.6. */
#define RC_SPIN_PAUSES 64
static inline void rc_spin_lock(rc_spinlock *l)
{
  for (unsigned spins = 0; __atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE);)
    while (__atomic_load_n(&l->word, __ATOMIC_RELAXED)) {
      if (++spins < RC_SPIN_PAUSES) __builtin_ia32_pause();
      else sched_yield();
    }
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
static inline void rc_spin_unlock(rc_spinlock *l) { __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE); }
/* A forked child: the holder's thread is gone. */
static inline void rc_spin_reset(rc_spinlock *l) { __atomic_store_n(&l->word, 0, __ATOMIC_RELEASE); }
#endif
