// Per-round-trip latency recording with bounded memory: a cheap tick clock (the TSC on
// x86-64, calibrated against steady_clock) and a log-linear (HDR-style) histogram.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace ipc {

// A timestamp in ticks. On x86-64 it is `rdtsc`: ~15 ns here against ~55 ns for
// steady_clock::now() (vDSO clock_gettime), and the kernel's own clocksource is the
// TSC (constant_tsc, nonstop_tsc), so both count the same time. Not serializing: it
// may move by a few instructions, which is noise against a round trip through memory.
// Elsewhere it is steady_clock in nanoseconds.
inline std::uint64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Nanoseconds per tick, measured once per process against steady_clock over ~20 ms
// (each end read as a bracketed pair so that a preemption cannot skew it).
double ns_per_tick();

// Counts of values (ticks or nanoseconds) in buckets that are exact below 256 and
// 128 per power of two above: any value is known within 1/128 (0.8%). Values up to 2^44
// are kept apart (hours of ticks), larger ones share the top bucket; max() is exact.
// Fixed size (~38 KiB, allocated and touched in the constructor), so record() never
// allocates or faults.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kMaxBits = 44;
  static constexpr std::size_t kBuckets =
      (std::size_t{kMaxBits - 1 - kSubBits} << kSubBits) + (std::size_t{2} << kSubBits);

  LatencyHistogram() : counts_(kBuckets, 0) {}

  void record(std::uint64_t value) noexcept {
    if (value > max_) max_ = value;
    ++counts_[index_of(value)];
  }

  // Which bucket holds `value`: its power of two picks a block of 128, its next 7 bits
  // the bucket within it (values below 256 have one bucket each).
  static std::size_t index_of(std::uint64_t value) noexcept {
    constexpr std::uint64_t kTop = (std::uint64_t{1} << kMaxBits) - 1;
    if (value > kTop) value = kTop;
    const int shift = std::bit_width(value | (std::uint64_t{1} << kSubBits)) - 1 - kSubBits;
    return (static_cast<std::size_t>(shift) << kSubBits) + (value >> shift);
  }
  // The smallest value of bucket `index`, and how many values it spans.
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_width(std::size_t index) noexcept;

  std::uint64_t count() const noexcept;
  std::uint64_t max() const noexcept { return max_; }
  // The value below or at which a fraction `q` (0 < q <= 1) of the recorded values lie:
  // the middle of the bucket holding the value of rank ceil(q * count), never above
  // max(); q = 1 gives max() exactly. 0 when empty.
  std::uint64_t quantile(double q) const noexcept;

  void merge(const LatencyHistogram& other) noexcept;
  void clear() noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t max_ = 0;
};

}  // namespace ipc
