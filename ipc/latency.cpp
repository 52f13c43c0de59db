#include "ipc/latency.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

struct Pair {
  std::uint64_t ticks;
  Clock::time_point time;
};

// Reads both clocks with nothing in between but the steady_clock read: retried until
// the two tick reads around it are close, so a preemption there cannot skew the pair.
Pair read_pair() noexcept {
  Pair best{};
  std::uint64_t best_gap = ~std::uint64_t{0};
  for (int i = 0; i < 50; ++i) {
    std::uint64_t before = ticks();
    Clock::time_point t = Clock::now();
    std::uint64_t after = ticks();
    if (after - before < best_gap) {
      best_gap = after - before;
      best = {before + (after - before) / 2, t};
    }
  }
  return best;
}

double calibrate() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  Pair a = read_pair();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Pair b = read_pair();
  double ns = std::chrono::duration<double, std::nano>(b.time - a.time).count();
  double t = static_cast<double>(b.ticks - a.ticks);
  return t > 0 ? ns / t : 1.0;
#else
  return 1.0;
#endif
}

}  // namespace

double ns_per_tick() {
  static const double value = calibrate();
  return value;
}

std::uint64_t LatencyHistogram::bucket_low(std::size_t index) noexcept {
  if (index < (std::size_t{2} << kSubBits)) return index;
  const std::size_t shift = (index >> kSubBits) - 1;
  return static_cast<std::uint64_t>(index - (shift << kSubBits)) << shift;
}

std::uint64_t LatencyHistogram::bucket_width(std::size_t index) noexcept {
  if (index < (std::size_t{2} << kSubBits)) return 1;
  return std::uint64_t{1} << ((index >> kSubBits) - 1);
}

std::uint64_t LatencyHistogram::count() const noexcept {
  return std::accumulate(counts_.begin(), counts_.end(), std::uint64_t{0});
}

std::uint64_t LatencyHistogram::quantile(double q) const noexcept {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  if (q >= 1.0) return max_;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<std::uint64_t>(rank, 1, total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(bucket_low(i) + (bucket_width(i) - 1) / 2, max_);
  }
  return max_;
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::clear() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  max_ = 0;
}

}  // namespace ipc
