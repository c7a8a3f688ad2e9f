/* The one spinlock of the runtime: a word, test-and-test-and-set. Held for
 * a few dozen instructions (a slot, a depot insert, a registry entry); never
 * across a system call that blocks, so it is safe to take with signals
 * blocked and with the world about to stop. Long sections (libdw in the
 * symbolizer) use a mutex instead. */
#ifndef RC_SPINLOCK_H
#define RC_SPINLOCK_H
#include <stdbool.h>

typedef struct { int word; } rc_spinlock;
#define RC_SPINLOCK_INIT {0}

static inline bool rc_spin_trylock(rc_spinlock *l)
{
  return !__atomic_load_n(&l->word, __ATOMIC_RELAXED) && !__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE);
}
static inline void rc_spin_lock(rc_spinlock *l)
{
  while (__atomic_exchange_n(&l->word, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&l->word, __ATOMIC_RELAXED)) __builtin_ia32_pause();
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
