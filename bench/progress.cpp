#include "bench/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace bench {
namespace {

constexpr auto kEvery = std::chrono::seconds(5);

std::string duration_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  return s >= 60 ? std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s"
                 : std::to_string(s) + "s";
}

std::unique_ptr<benchmark::BenchmarkReporter> display_reporter(std::string_view format) {
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // 1.7.1 still offers it
  if (format == "csv") return std::make_unique<benchmark::CSVReporter>();
#pragma GCC diagnostic pop
  return std::make_unique<benchmark::ConsoleReporter>(
      ::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                              : benchmark::ConsoleReporter::OO_Tabular);
}

ProgressReporter* g_current = nullptr;  // the run's reporter, for progress_note()

}  // namespace

void progress_note(const std::string& label) {
  if (g_current != nullptr) g_current->note_start(label);
}

ProgressReporter::ProgressReporter(std::string_view format, std::size_t total)
    : inner_(display_reporter(format)), total_(total) {
  g_current = this;
}

ProgressReporter::~ProgressReporter() { g_current = nullptr; }

bool ProgressReporter::ReportContext(const Context& context) {
  start_ = Clock::now();
  return inner_->ReportContext(context);
}

void ProgressReporter::ReportRuns(const std::vector<Run>& runs) {
  inner_->ReportRuns(runs);
  for (const Run& run : runs)
    if (run.run_type == Run::RT_Iteration) ++done_;
  if (!runs.empty()) print(runs.front().benchmark_name());
}

void ProgressReporter::note_start(const std::string& label) {
  if (label == last_label_) return;  // another iteration count of the same repetition
  last_label_ = label;
  ++started_;
  print(label);
}

void ProgressReporter::print(const std::string& what) {
  // Repetitions finished: those reported, or with interleaving (reported in bulk after a
  // benchmark's last one), about those begun before the current one.
  const std::size_t done = std::max(done_, started_ > 0 ? started_ - 1 : 0);
  const auto now = Clock::now();
  if (done == 0 || done >= total_ || now - last_print_ < kEvery) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double left = elapsed / static_cast<double>(done) * static_cast<double>(total_ - done);
  std::fprintf(stderr, "ipcbench: [%zu/%zu] %s, about %s left\n", done, total_, what.c_str(),
               duration_text(left).c_str());
}

void ProgressReporter::Finalize() {
  inner_->Finalize();
  if (total_ > 0)
    std::fprintf(
        stderr, "ipcbench: [%zu/%zu] done in %s\n", done_, total_,
        duration_text(std::chrono::duration<double>(Clock::now() - start_).count()).c_str());
}

}  // namespace bench
