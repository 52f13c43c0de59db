// What every scenario shares: the run configuration chosen on the command line, the
// benchmark name format, error reporting, and the test-only injected delay.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bench/canary.hpp"
#include "bench/progress.hpp"
#include "ipc/core/shared_queue.hpp"
#include "ipc/core/transport.hpp"
#include "ipc/run/peer.hpp"

namespace bench {

struct Config {
  std::chrono::milliseconds timeout{5000};
  std::vector<const ipc::TransportInfo*> transports;  // chosen with --transports
  // The shared queue kinds (pool, fanin) chosen with --transports (its names of them).
  std::vector<const ipc::SharedQueueInfo*> shared_queues;
  std::vector<ipc::Context> contexts;  // chosen with --contexts
  // --pin: the placements of the placement-swept scenarios (roundtrip, floor), in order;
  // `pin`, the first, is every other scenario's.
  std::vector<ipc::Pin> pins = {ipc::Pin::kNone};
  ipc::Pin pin = ipc::Pin::kNone;
  // --contexts names spawn (the default). Kept out of `contexts`: a scenario offers the
  // spawn context only where its peer can run as a named entry (contexts_with_spawn).
  bool spawn = true;
  // --benchmark_min_time=<n>x: exactly n iterations per repetition; 0: timed (min_time).
  long iterations = 0;
  // --sizes: the message sizes of the size-swept scenarios to register; empty: all.
  std::vector<std::size_t> sizes;
  // --load-sweep=full: the load scenario's full sweep (every transport, more sizes and
  // rates) instead of the small default one.
  bool load_full = false;
};

// run_pair's options for this run: the watchdog timeout and the CPU placement. Every
// benchmark gets its options here, so --timeout and --pin reach all of them.
ipc::PairOptions pair_options(const Config& config);

// One CPU placement a benchmark of a placement-swept scenario is registered with.
struct Placed {
  ipc::PairOptions pair;  // pair_options(config), with this placement
  std::string suffix;     // "/pin:<placement>" when the run sweeps placements, else ""
};
// The placements of a placement-swept scenario (roundtrip, floor): one per --pin value.
// With several, every name gets its "/pin:<p>" key, and a busy-polling pair is not
// registered with both peers on one CPU (it would measure the scheduler, not itself).
// `all` false: the first placement only, still named (the spawn context: its steady state
// is the process context's, placed the same way; only how it starts differs).
std::vector<Placed> placements(const Config& config, bool busy_polls, bool all = true);

// Whether --sizes lets a size-swept scenario register `size`.
bool size_selected(const Config& config, std::size_t size);

// How long a transport's own blocking call or a connect may wait: a backstop, twice the
// watchdog's timeout, so that the watchdog in run_pair acts first.
std::chrono::milliseconds backstop(const ipc::PairOptions& pair);
// The transport options of a pair: the backstop as their timeout.
ipc::Options transport_options(const ipc::PairOptions& pair);

// Every benchmark registered from now on runs exactly n iterations per repetition (0:
// Google Benchmark picks the count from --benchmark_min_time).
void set_fixed_iterations(long n);
long fixed_iterations();

// The name the running benchmark was registered with ("" outside one): Google Benchmark
// 1.7.1's State does not know it. Set by register_benchmark around every call.
const std::string& current_benchmark();
class CurrentBenchmark {
 public:
  explicit CurrentBenchmark(const std::string& name) noexcept;
  CurrentBenchmark(const CurrentBenchmark&) = delete;
  CurrentBenchmark& operator=(const CurrentBenchmark&) = delete;
  ~CurrentBenchmark();

 private:
  const std::string* previous_;
};

// Registers one benchmark, in real time (the CPU timer never sees a forked peer) and with
// the run's fixed iteration count if any; every scenario registers through here.
template <typename Fn, typename... Args>
benchmark::internal::Benchmark* register_benchmark(const std::string& name, Fn fn, Args... args) {
  benchmark::internal::Benchmark* b =
      benchmark::RegisterBenchmark(name.c_str(), [name, fn, args...](benchmark::State& state) {
        CurrentBenchmark scope(name);
        fn(state, args...);
      })->UseRealTime();
  if (fixed_iterations() > 0) b->Iterations(fixed_iterations());
  return b;
}

// A busy-polling peer pair with both peers pinned to one CPU measures the scheduler,
// not the mechanism: marks the benchmark skipped with a message saying so and returns
// true in that case.
bool skip_busy_poll_on_one_cpu(benchmark::State& state, const std::string& label, bool busy_polls,
                               ipc::Pin pin);

// "scenario/part/part/...": the parseable name of every benchmark.
std::string join_name(std::initializer_list<std::string_view> parts);

// The contexts of `config` in which `transport` can run (thread, process).
std::vector<ipc::Context> contexts_for(const Config& config, const ipc::TransportInfo& transport);
// The same, plus spawn if chosen and the transport can be opened by address; for
// scenarios whose peer is a registered entry (ipc::run_named_pair).
std::vector<ipc::Context> contexts_with_spawn(const Config& config,
                                              const ipc::TransportInfo& transport);

// Why `transport` cannot carry `size`-byte messages (TransportInfo::max_message, e.g.
// "posix-mq: not measured: 65536-byte messages exceed its limit of 8192 bytes"), or "".
std::string above_limit(const ipc::TransportInfo& transport, std::size_t size);

// A benchmark left out at registration: its name and why (above_limit()).
struct NotMeasured {
  std::string name;
  std::string why;
};
const std::vector<NotMeasured>& not_measured();

// A benchmark of one transport, context and message size: bm(state, transport, context,
// size, the pair options, the injected delay (injected_delay_ns)).
using SizedBenchmark = void (*)(benchmark::State&, const ipc::TransportInfo*, ipc::Context,
                                std::size_t, ipc::PairOptions, std::int64_t);
// Registers "<scenario>/<transport>/<context>/size:<n>" (real time) for each of `sizes`;
// `swept`: once per placement (placements()), else with the run's first. A size above the
// transport's limit is not registered: it goes to not_measured(), with above_limit()'s
// message (the run says so and records it in its context, never as an error entry).
void register_sized(std::string_view scenario, SizedBenchmark bm,
                    const ipc::TransportInfo& transport, ipc::Context context,
                    std::span<const std::size_t> sizes, const Config& config, bool swept = false);

// Counts a failed benchmark run for the exit status and the summary (main.cpp).
void note_failure(const std::string& what);
// How many runs failed, and the first failure's text.
int failure_count();
std::string first_failure();

// Runs `body`, and on any exception marks the benchmark failed with
// "<label>: <what>", so a failure is an error entry, never a figure. The label also
// scopes the test-only fault (ipc::RunLabel, ipc/testing/fault.hpp).
template <typename Body>
void guarded(benchmark::State& state, const std::string& label, Body&& body) {
  ipc::RunLabel scope(label);
  try {
    progress_note(label);  // progress.hpp
    canary_record(state);  // started_s; with --canary, the floor at this moment
    body();
  } catch (const std::exception& e) {
    const std::string what = label + ": " + e.what();
    note_failure(what);
    state.SkipWithError(what.c_str());
  }
}

// Test-only knob for checking the regression gate against a known slowdown:
// IPCBENCH_INJECT_NS=<ns> busy-waits that long per message sent, in benchmarks whose
// name contains IPCBENCH_INJECT_FILTER (all when unset). Returns 0 when off.
std::int64_t injected_delay_ns(const std::string& benchmark_name);
void busy_wait_ns(std::int64_t ns) noexcept;

// The peer entry (ipc::register_peer_entry) that echoes verified messages of the size
// given as its argument, until an empty message; defined in roundtrip.cpp.
inline constexpr std::string_view kEchoEntry = "roundtrip-echo";

// Round trips each ping-pong makes before its timed loop, so that the peer's start
// (fork, page faults, moving to its CPU) does not land in the first timed iteration,
// from which Google Benchmark picks the iteration count.
inline constexpr int kWarmUpRoundTrips = 8;

// The peer of a verified round trip: send each message back unchanged and verify it
// (ipc::verify_message, sequence numbers from 0) while the echo travels, until an empty
// message says stop, which it answers with an empty message.
void echo(ipc::Transport& t, std::size_t size);

// The main side's end of an echo whose messages 0 .. next_seq - 1 were echoed and verified:
// says stop, then reads everything the peer still sends until its empty answer, so that
// an extra echo (a duplicate of the last one) is an error, never left unread.
void stop_echo(ipc::Transport& t, std::size_t size, std::uint64_t next_seq);

// Machine and build facts for the JSON context (kernel, CPU, compiler, commit, ...).
void add_context(const Config& config);

}  // namespace bench
