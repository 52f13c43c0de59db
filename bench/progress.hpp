// Progress of a long run on stderr: "[k/N] <benchmark>, about 3m10s left", at most every
// few seconds, so that ./run.sh never sits silent for minutes. It wraps the display
// reporter Google Benchmark would have used (--benchmark_format), which still writes the
// results to stdout.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// Google Benchmark 1.7.1 exports its flags but declares them in no public header.
namespace benchmark {
extern bool FLAGS_benchmark_list_tests;
extern std::int32_t FLAGS_benchmark_repetitions;
}  // namespace benchmark

namespace bench {

// Tells the run's ProgressReporter, if any, that a benchmark named `label` is running
// (guarded() calls it): with interleaved repetitions, the only sign of progress until a
// benchmark's last repetition is reported.
void progress_note(const std::string& label);

class ProgressReporter final : public benchmark::BenchmarkReporter {
 public:
  // `format`: --benchmark_format's (console, json, csv); `total`: the number of runs
  // (benchmarks x repetitions) expected. (Not CreateDefaultDisplayReporter(): 1.7.1 deletes
  // the object it returns at the end of any RunSpecifiedBenchmarks() without a reporter.)
  ProgressReporter(std::string_view format, std::size_t total);
  ~ProgressReporter() override;
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;
  void note_start(const std::string& label);

 private:
  void print(const std::string& what);

  using Clock = std::chrono::steady_clock;
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  std::size_t total_;
  std::size_t done_ = 0;     // repetitions reported
  std::size_t started_ = 0;  // benchmark changes seen by note_start
  std::string last_label_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_print_{};
};

}  // namespace bench
