// LatencyHistogram: bucket layout, bounded relative error, quantiles, merge; the tick
// clock's calibration.
#include "ipc/fixtures/latency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
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

// One .hgrm data line: value, percentile (fraction), total count, 1/(1-percentile).
struct HgrmLine {
  double value, percentile;
  std::uint64_t count;
  double inverse;  // 0 on the last (100%) line, which has no such column
};

std::vector<HgrmLine> parse_hgrm(const std::string& text, std::uint64_t* footer_count) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "       Value     Percentile TotalCount 1/(1-Percentile)");
  std::getline(in, line);
  EXPECT_EQ(line, "");
  std::vector<HgrmLine> out;
  while (std::getline(in, line)) {
    if (line.starts_with("#[Max")) {
      const auto at = line.find("Total count    =");
      *footer_count = std::stoull(line.substr(at + 16, line.size() - at - 17));
      continue;
    }
    if (line.starts_with("#")) continue;
    std::istringstream fields(line);
    HgrmLine l{};
    fields >> l.value >> l.percentile >> l.count;
    if (!(fields >> l.inverse)) l.inverse = 0;
    EXPECT_FALSE(fields.fail() && l.inverse != 0) << line;
    out.push_back(l);
  }
  return out;
}

TEST(PercentileDistributionTest, ParsesAsHdrHistogramTextAndIsMonotone) {
  H h;
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(8.0, 1.5);
  for (int i = 0; i < 100'000; ++i) h.record(static_cast<std::uint64_t>(dist(rng)));
  std::uint64_t footer = 0;
  const auto lines = parse_hgrm(percentile_distribution(h, 0.001), &footer);
  ASSERT_GT(lines.size(), 50u);
  EXPECT_EQ(footer, h.count());
  EXPECT_EQ(lines.front().percentile, 0.0);
  EXPECT_EQ(lines.back().percentile, 1.0);
  EXPECT_EQ(lines.back().count, h.count());
  EXPECT_DOUBLE_EQ(lines.back().value, static_cast<double>(h.max()) * 0.001);
  EXPECT_EQ(lines.back().inverse, 0.0);  // the 100% line has no 1/(1-p)
  for (std::size_t i = 1; i < lines.size(); ++i) {
    EXPECT_GE(lines[i].value, lines[i - 1].value) << i;
    EXPECT_GT(lines[i].percentile, lines[i - 1].percentile) << i;
    EXPECT_GE(lines[i].count, lines[i - 1].count) << i;
    if (i + 1 < lines.size()) {
      EXPECT_NEAR(lines[i].inverse, 1.0 / (1.0 - lines[i].percentile), 0.01) << i;
      // Each line's count reaches its percentile: the step is reported where it is met.
      EXPECT_GE(static_cast<double>(lines[i].count) + 1e-9,
                lines[i].percentile * static_cast<double>(h.count()))
          << i;
    }
  }
  // HdrHistogram's steps: 0, 10, 20, 30, 40, 50, 55, 60, ... (5 per halving).
  EXPECT_NEAR(lines[1].percentile, 0.1, 1e-12);
  // The line at 50% holds the median's bucket: its value is the bucket's top.
  for (const HgrmLine& l : lines)
    if (l.percentile == 0.5) {
      EXPECT_NEAR(l.value, static_cast<double>(h.quantile(0.5)) * 0.001,
                  static_cast<double>(h.quantile(0.5)) * 0.001 / 64);
    }
}

TEST(PercentileDistributionTest, MergingIsExact) {
  // Two repetitions merged give exactly the histogram (and the file) of all their
  // values recorded together: the p99 of the run, not a median of p99s.
  H a, b, all;
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> fast(1.0 / 2000), slow(1.0 / 90'000);
  for (int i = 0; i < 20'000; ++i) {
    const auto v = static_cast<std::uint64_t>(fast(rng));
    a.record(v);
    all.record(v);
  }
  for (int i = 0; i < 5'000; ++i) {
    const auto v = static_cast<std::uint64_t>(slow(rng));
    b.record(v);
    all.record(v);
  }
  H merged = a;
  merged.merge(b);
  EXPECT_TRUE(merged == all);
  EXPECT_EQ(percentile_distribution(merged, 0.001), percentile_distribution(all, 0.001));
  // Not the median of the parts' p99s.
  EXPECT_NE(merged.quantile(0.99), a.quantile(0.99));
  EXPECT_NE(merged.quantile(0.99), b.quantile(0.99));
}

TEST(PercentileDistributionTest, EmptyHistogramIsHeaderAndFooterOnly) {
  std::uint64_t footer = 99;
  EXPECT_TRUE(parse_hgrm(percentile_distribution(H(), 1.0), &footer).empty());
  EXPECT_EQ(footer, 0u);
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
