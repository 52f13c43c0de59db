// Frees process-shared pthread locks that a dead process held, so that a survivor blocked
// on them (or about to block) goes on. For Boost.Interprocess's message_queue, whose
// mutex is not robust: a peer killed inside it would otherwise block us for ever.
// Call these only once every other process that maps the lock is dead (a zombie or
// reaped): a lock held by a thread that is not one of ours is then abandoned for good.
#pragma once

#include <pthread.h>

namespace ipc {

// Whether `m`, a glibc normal (not robust, PI or PP) process-shared mutex, is locked by a
// thread that is not one of this process's. False for another kind of mutex, or one that
// is free or ours. Takes ~10 ms when it is locked with no owner recorded (a holder that
// died between locking and recording itself), to tell that from one of our threads in that
// instant. Never throws.
bool mutex_abandoned(pthread_mutex_t& m) noexcept;
// Unlocks a mutex that mutex_abandoned() found abandoned and wakes its waiters: one of them
// takes it. What it protects may be half-updated.
void release_abandoned_mutex(pthread_mutex_t& m) noexcept;

// The same for the internal lock of glibc's (>= 2.25) condition variable, which a process
// holds for a few instructions inside pthread_cond_signal/broadcast/wait: abandoned if it
// stays locked for ~10 ms (with the other process dead, none of ours holds it that long).
bool cond_lock_abandoned(pthread_cond_t& c) noexcept;
void release_abandoned_cond_lock(pthread_cond_t& c) noexcept;

}  // namespace ipc
