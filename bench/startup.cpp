// startup/<context>/<transport>: what it costs to start a peer, get the first message
// through it and end it. One iteration creates the channel, starts the peer (a thread, a
// forked process, or this program spawned anew), sends one verified 64-byte message and
// waits for its echo, then stops the peer and joins or reaps it. items_per_second is
// starts per second; the counters split an iteration (averages, microseconds):
//   start_us          channel + peer start, until the main side may send (for a peer that
//                     opens names, this includes waiting for it to open them)
//   first_message_us  the first round trip (a peer still starting makes it wait)
//   teardown_us       stop message, the peer's exit, join or reap
// startup/<context>/rss:<MiB>: the same over pipes, with <MiB> of memory touched in this
// process first: fork copies its page tables (and the child's exit frees them), spawn
// (posix_spawn, vfork-like) does not.
#include <chrono>
#include <string>

#include "bench/harness.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/message.hpp"
#include "ipc/fixtures/ballast.hpp"
#include "ipc/run/spawn.hpp"
#include "ipc/transports/registry.hpp"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kSize = 64;
constexpr std::size_t kRssMiB[] = {1, 64, 512};
constexpr std::string_view kRssTransport = "pipe";

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

void BM_Startup(benchmark::State& state, const ipc::TransportInfo* transport, ipc::Context context,
                std::size_t rss_mib, ipc::PairOptions pair) {
  const std::string label =
      std::string(ipc::context_name(context)) + "/" + std::string(transport->name);
  guarded(state, label, [&] {
    ipc::Ballast ballast(rss_mib << 20);  // freed when the benchmark is done
    const ipc::Options options = transport_options(pair);
    ipc::Message out(kSize);
    ipc::AlignedBuffer in(kSize);
    const std::string size_arg = std::to_string(kSize);
    Clock::time_point t1{}, t2{};
    auto start_once = [&] {
      out.stamp(0);
      ipc::run_named_pair(
          context, *transport, options, kEchoEntry, size_arg,
          [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
            t1 = Clock::now();
            t.send(out.bytes());
            std::size_t n = t.recv(in.span());
            t2 = Clock::now();
            ipc::verify_message(in.span().first(n), kSize, 0);
            heartbeat.beat();
            stop_echo(t, kSize, 1);  // and read all the peer sent
          },
          pair);
    };
    // One untimed start first: a --quick run may time a single iteration, and the very
    // first start of a run pays one-off costs (page cache, lazy binding, first thread).
    start_once();
    double start_us = 0, first_us = 0, teardown_us = 0;
    for (auto _ : state) {
      const auto t0 = Clock::now();
      start_once();
      const auto t3 = Clock::now();
      start_us += micros(t1 - t0);
      first_us += micros(t2 - t1);
      teardown_us += micros(t3 - t2);
    }
    state.SetItemsProcessed(state.iterations());
    using benchmark::Counter;
    state.counters["start_us"] = Counter(start_us, Counter::kAvgIterations);
    state.counters["first_message_us"] = Counter(first_us, Counter::kAvgIterations);
    state.counters["teardown_us"] = Counter(teardown_us, Counter::kAvgIterations);
    if (rss_mib > 0) state.counters["rss_mib"] = static_cast<double>(rss_mib);
  });
}

}  // namespace

void register_startup(const Config& config) {
  for (const ipc::TransportInfo* t : config.transports) {
    if (!t->startup) continue;
    for (ipc::Context c : contexts_with_spawn(config, *t)) {
      std::string name = join_name({"startup", ipc::context_name(c), t->name});
      register_benchmark(name, BM_Startup, t, c, std::size_t{0}, pair_options(config));
    }
  }
  // The fork-vs-memory figures run over pipes, in the process contexts chosen.
  const ipc::TransportInfo& pipe = ipc::find_transport(kRssTransport);
  bool chosen = false;
  for (const ipc::TransportInfo* t : config.transports) chosen |= t == &pipe;
  if (!chosen) return;
  for (ipc::Context c : contexts_with_spawn(config, pipe)) {
    if (c == ipc::Context::kThread) continue;
    for (std::size_t mib : kRssMiB) {
      std::string name = join_name({"startup", ipc::context_name(c), "rss:" + std::to_string(mib)});
      register_benchmark(name, BM_Startup, &pipe, c, mib, pair_options(config));
    }
  }
}

}  // namespace bench
