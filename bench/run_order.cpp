#include "bench/run_order.hpp"

#include <algorithm>
#include <limits>

namespace bench {
namespace {

double started(const benchmark::BenchmarkReporter::Run& run) {
  auto it = run.counters.find("started_s");
  // A run without the counter (it failed before recording it) keeps its report position
  // relative to the others without one, after those with one.
  return it == run.counters.end() ? std::numeric_limits<double>::infinity() : it->second.value;
}

}  // namespace

bool RunOrderReporter::ReportContext(const Context& context) {
  json_.SetOutputStream(&GetOutputStream());
  json_.SetErrorStream(&GetErrorStream());
  return json_.ReportContext(context);
}

void RunOrderReporter::ReportRuns(const std::vector<Run>& runs) {
  for (const Run& run : runs)
    (run.run_type == Run::RT_Aggregate ? aggregates_ : runs_).push_back(run);
}

void RunOrderReporter::Finalize() {
  std::stable_sort(runs_.begin(), runs_.end(),
                   [](const Run& a, const Run& b) { return started(a) < started(b); });
  for (const Run& run : runs_) json_.ReportRuns({run});
  for (const Run& run : aggregates_) json_.ReportRuns({run});
  json_.Finalize();
}

}  // namespace bench
