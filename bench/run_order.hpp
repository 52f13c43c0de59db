// The JSON results file in the order the repetitions ran. Google Benchmark 1.7.1 runs
// interleaved repetitions in random order but reports each benchmark's repetitions
// together, after its last one, so the file would look as if they had run back to back.
// This reporter holds the runs until the end and writes them sorted by their started_s
// counter (canary.hpp), then the aggregates (mean, median, stddev, cv) grouped as before.
#pragma once

#include <benchmark/benchmark.h>

#include <vector>

namespace bench {

class RunOrderReporter final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

 private:
  benchmark::JSONReporter json_;
  std::vector<Run> runs_;        // repetitions, in report order until Finalize sorts them
  std::vector<Run> aggregates_;  // in report order
};

}  // namespace bench
