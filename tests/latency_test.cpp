// LatencyHistogram: bucket layout, bounded relative error, quantiles, merge; the tick
// clock's calibration.
#include "ipc/fixtures/latency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

namespace ipc {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogramTest, SmallValuesHaveABucketEach) {
  for (std::uint64_t v = 0; v < 256; ++v) {
    EXPECT_EQ(H::index_of(v), v);
    EXPECT_EQ(H::bucket_low(v), v);
    EXPECT_EQ(H::bucket_width(v), 1u);
  }
}

TEST(LatencyHistogramTest, BucketsAreContiguousAndHoldTheirValues) {
  std::uint64_t expected_low = 0;
  for (std::size_t i = 0; i < H::kBuckets; ++i) {
    ASSERT_EQ(H::bucket_low(i), expected_low) << i;
    const std::uint64_t high = H::bucket_low(i) + H::bucket_width(i) - 1;
    ASSERT_EQ(H::index_of(H::bucket_low(i)), i) << i;
    ASSERT_EQ(H::index_of(high), i) << i;
    // At most 1/128 of the value wide: the relative error bound.
    ASSERT_LE(H::bucket_width(i) * 128, std::max<std::uint64_t>(H::bucket_low(i), 128)) << i;
    expected_low = high + 1;
  }
  EXPECT_EQ(expected_low, std::uint64_t{1} << H::kMaxBits);
}

TEST(LatencyHistogramTest, HugeValuesShareTheTopBucketAndMaxStaysExact) {
  H h;
  const std::uint64_t huge = ~std::uint64_t{0};
  EXPECT_EQ(H::index_of(huge), H::kBuckets - 1);
  h.record(5);
  h.record(huge);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.max(), huge);
  EXPECT_EQ(h.quantile(1.0), huge);
  EXPECT_EQ(h.quantile(0.5), 5u);
}

TEST(LatencyHistogramTest, EmptyGivesZero) {
  H h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.quantile(0.5), 0u);
  EXPECT_EQ(h.quantile(1.0), 0u);
}

TEST(LatencyHistogramTest, QuantilesOfExactValues) {
  H h;
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.quantile(0.5), 50u);
  EXPECT_EQ(h.quantile(0.9), 90u);
  EXPECT_EQ(h.quantile(0.99), 99u);
  EXPECT_EQ(h.quantile(0.999), 100u);
  EXPECT_EQ(h.quantile(1.0), 100u);
  EXPECT_EQ(h.quantile(0.001), 1u);
}

TEST(LatencyHistogramTest, QuantilesWithinOnePercentOfTheSortedTruth) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(std::log(300.0), 1.5);  // ns-like, long tail
  std::vector<std::uint64_t> values(200'000);
  H h;
  for (auto& v : values) {
    v = static_cast<std::uint64_t>(dist(rng)) + 1;
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto truth =
        static_cast<double>(values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1]);
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), truth, truth / 128 + 1) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.quantile(1.0), values.back());
}

TEST(LatencyHistogramTest, MergeAddsCountsAndKeepsTheMax) {
  H a, b;
  for (int i = 0; i < 10; ++i) a.record(1000);
  for (int i = 0; i < 30; ++i) b.record(10);
  b.record(99'999);
  a.merge(b);
  EXPECT_EQ(a.count(), 41u);
  EXPECT_EQ(a.max(), 99'999u);
  EXPECT_EQ(a.quantile(0.5), 10u);
  a.clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.max(), 0u);
}

TEST(TicksTest, CalibrationMatchesTheSteadyClock) {
  const double scale = ns_per_tick();
  ASSERT_GT(scale, 0.0);
  const std::uint64_t t0 = ticks();
  const auto s0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const std::uint64_t t1 = ticks();
  const auto s1 = std::chrono::steady_clock::now();
  const double by_ticks = static_cast<double>(t1 - t0) * scale;
  const double by_clock = std::chrono::duration<double, std::nano>(s1 - s0).count();
  // Same interval by both clocks; loose because a preemption between reads is possible.
  EXPECT_NEAR(by_ticks, by_clock, 0.05 * by_clock);
}

}  // namespace
}  // namespace ipc
