// What every round-trip (and streaming) benchmark reports besides its time: the latency
// percentiles of its round trips (p50_ns p90_ns p99_ns p999_ns max_ns) and the CPU time
// both peers burned per item (cpu_ns_per_msg). See CONTRACT.md.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "ipc/fixtures/latency.hpp"
#include "ipc/run/cpu.hpp"

namespace bench {

// Times every round trip: lap() once per iteration, right after the message went out,
// records the ticks since the previous lap (one rdtsc and one histogram increment).
// Taken there, while the message is on its way and the main side would only wait, it
// stays off the round trip's critical path; each interval between two laps is one
// whole iteration (send, wait, verify, stamp), the same span real_time averages.
// The first lap only starts the clock; one more lap after the loop closes the last
// iteration (from its send to the loop's end), so n iterations give n samples.
class LatencyRecorder {
 public:
  void lap() noexcept {
    const std::uint64_t now = ipc::ticks();
    if (last_ != 0) histogram_.record(now - last_);
    last_ = now;
  }
  // Sets p50_ns, p90_ns, p99_ns, p999_ns and max_ns on `state`.
  void report(benchmark::State& state) const;

 private:
  ipc::LatencyHistogram histogram_;
  std::uint64_t last_ = 0;
};

// Sets <prefix>p50_ns, <prefix>p90_ns, <prefix>p99_ns, <prefix>p999_ns and
// <prefix>max_ns on `state` from a histogram of ticks; nothing when it is empty.
void report_percentiles(benchmark::State& state, const ipc::LatencyHistogram& histogram,
                        const std::string& prefix = "");

// For benchmarks with more than two peers: cpus (the CPUs this process may use),
// busy_peers (threads or processes busy in it) and oversubscribed (1 when busy_peers >
// cpus), so that a figure taken with more peers than CPUs is marked as such.
void report_peers(benchmark::State& state, std::size_t busy_peers);

// False when IPCBENCH_NO_LATENCY is set: a test-only knob to measure what recording
// costs (A/B against the same benchmark with it); the percentiles are then absent.
bool latency_recording_enabled();

// CPU time of this process and its reaped children from construction to report(),
// which sets cpu_ns_per_msg = that / items. Construct it before run_pair and report
// after it returned (a forked peer's CPU counts once it has been reaped).
class CpuMeter {
 public:
  CpuMeter() noexcept : start_(ipc::cpu_time_with_reaped_children()) {}
  void report(benchmark::State& state, std::int64_t items) const;

 private:
  std::chrono::nanoseconds start_;
};

}  // namespace bench
