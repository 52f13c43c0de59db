#include "bench/measure.hpp"

#include <cstdlib>

#include "bench/histograms.hpp"
#include "ipc/fixtures/pool.hpp"

namespace bench {

void report_percentiles(benchmark::State& state, const ipc::LatencyHistogram& histogram,
                        const std::string& prefix) {
  if (histogram.count() == 0) return;
  const double scale = ipc::ns_per_tick();
  auto ns = [&](double q) { return static_cast<double>(histogram.quantile(q)) * scale; };
  state.counters[prefix + "p50_ns"] = ns(0.50);
  state.counters[prefix + "p90_ns"] = ns(0.90);
  state.counters[prefix + "p99_ns"] = ns(0.99);
  state.counters[prefix + "p999_ns"] = ns(0.999);
  state.counters[prefix + "max_ns"] = ns(1.0);
}

void LatencyRecorder::report(benchmark::State& state) const {
  report_percentiles(state, histogram_);
  offer_histogram(histogram_, state.iterations());
}

void report_peers(benchmark::State& state, std::size_t busy_peers) {
  const int cpus = ipc::usable_cpus();
  state.counters["cpus"] = cpus;
  state.counters["busy_peers"] = static_cast<double>(busy_peers);
  state.counters["oversubscribed"] = busy_peers > static_cast<std::size_t>(cpus) ? 1 : 0;
}

bool latency_recording_enabled() {
  static const bool enabled = [] {
    const char* off = std::getenv("IPCBENCH_NO_LATENCY");
    return off == nullptr || *off == '\0';
  }();
  return enabled;
}

void CpuMeter::report(benchmark::State& state, std::int64_t items) const {
  if (items <= 0) return;
  const auto used = ipc::cpu_time_with_reaped_children() - start_;
  state.counters["cpu_ns_per_msg"] = static_cast<double>(used.count()) / static_cast<double>(items);
}

}  // namespace bench
