// What the busy-polling and futex-sleeping shared-memory channels (shm-ring, the floor
// batons) wait with: a spin hint, futex(2) on a word of a shared mapping, and a
// deadline whose clock starts at its first check.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

namespace ipc {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Sleeps while *word == seen, for at most `timeout`. Shared (not _PRIVATE) futexes:
// the word lives in a mapping shared across processes.
inline void futex_wait(std::uint32_t* word, std::uint32_t seen,
                       std::chrono::nanoseconds timeout) noexcept {
  timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
              static_cast<long>(timeout.count() % 1'000'000'000)};
  ::syscall(SYS_futex, word, FUTEX_WAIT, seen, &ts, nullptr, 0);
}

inline void futex_wake(std::uint32_t* word) noexcept {
  ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

// The futex word of an atomic (which is its one 32-bit member).
inline std::uint32_t* futex_word(std::atomic<std::uint32_t>& word) noexcept {
  static_assert(sizeof word == sizeof(std::uint32_t));
  return reinterpret_cast<std::uint32_t*>(&word);
}

// A wait's deadline, `timeout` after its first check rather than after the wait began:
// a busy-polled message often arrives sooner than one read of the clock (~20-50 ns
// here), so a spinner looks at the clock only when it yields, some microseconds in, and
// a sleeper only once it wakes (its first sleep is a whole slice).
class LazyDeadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LazyDeadline(std::chrono::milliseconds timeout) noexcept : timeout_(timeout) {}

  // Starts the clock at the first call.
  bool passed() {
    const auto now = Clock::now();
    if (at_ == Clock::time_point{}) at_ = now + timeout_;
    return now >= at_;
  }
  // How long a sleeper may sleep: `slice`, or less if the deadline is nearer.
  std::chrono::nanoseconds left(std::chrono::nanoseconds slice) const {
    if (at_ == Clock::time_point{}) return slice;
    const auto left = at_ - Clock::now();
    if (left <= Clock::duration::zero()) return std::chrono::nanoseconds::zero();
    return std::min(std::chrono::duration_cast<std::chrono::nanoseconds>(left), slice);
  }

 private:
  std::chrono::milliseconds timeout_;
  Clock::time_point at_{};
};

}  // namespace ipc
