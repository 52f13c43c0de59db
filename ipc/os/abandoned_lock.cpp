#include "ipc/os/abandoned_lock.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <thread>

namespace ipc {
namespace {

// How long a lock must look abandoned, when its holder cannot be named, before we say it
// is: a live thread of ours holds such a lock for nanoseconds.
constexpr int kSamples = 50;
constexpr auto kSampleGap = std::chrono::microseconds(200);

// Process-shared locks wait on shared (not _PRIVATE) futexes.
void wake_all(void* word) noexcept {
  ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

bool our_thread(pid_t tid) noexcept { return ::syscall(SYS_tgkill, ::getpid(), tid, 0) == 0; }

}  // namespace

// glibc's mutex layout (bits/struct_mutex.h, part of its ABI): __lock is the futex word
// (0 free, 1 locked, 2 locked with waiters), __owner the holder's tid, set just after
// locking and cleared just before unlocking. Only the plain kind works this way (the low
// seven bits of __kind: no robust, PI or PP; 128 is the process-shared bit).
bool mutex_abandoned(pthread_mutex_t& m) noexcept {
  auto& d = m.__data;
  if ((d.__kind & 0x7f) != PTHREAD_MUTEX_NORMAL) return false;
  std::atomic_ref<int> lock(d.__lock);
  std::atomic_ref<int> owner(d.__owner);
  for (int i = 0; i < kSamples; ++i) {
    if (lock.load() == 0) return false;
    if (const int tid = owner.load(); tid != 0) return !our_thread(tid);
    std::this_thread::sleep_for(kSampleGap);
  }
  return true;  // locked by nobody we can name, all along
}

void release_abandoned_mutex(pthread_mutex_t& m) noexcept {
  auto& d = m.__data;
  // As pthread_mutex_unlock does; a waiter asserts that __owner is 0 once it has the lock.
  std::atomic_ref<int>(d.__owner).store(0);
  if (d.__nusers > 0) --d.__nusers;
  std::atomic_ref<int>(d.__lock).store(0);
  wake_all(&d.__lock);
}

// glibc >= 2.25 (nptl/pthread_cond_common.c): the two low bits of __g1_orig_size are the
// condition variable's internal lock (0 free, 1 locked, 2 locked with waiters), futex-
// waited on that word.
bool cond_lock_abandoned(pthread_cond_t& c) noexcept {
  std::atomic_ref<unsigned> word(c.__data.__g1_orig_size);
  for (int i = 0; i < kSamples; ++i) {
    if ((word.load() & 3) == 0) return false;
    std::this_thread::sleep_for(kSampleGap);
  }
  return true;
}

void release_abandoned_cond_lock(pthread_cond_t& c) noexcept {
  std::atomic_ref<unsigned>(c.__data.__g1_orig_size).fetch_and(~3u);
  wake_all(&c.__data.__g1_orig_size);
}

}  // namespace ipc
