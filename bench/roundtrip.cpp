// roundtrip/<transport>/<context>/size:<bytes>: ping-pong. The main side sends a stamped
// message, the peer verifies and echoes it, the main side verifies the echo. One
// iteration is one round trip, timed in real time (a forked peer's CPU is invisible to
// Google Benchmark's CPU timer); every round trip's duration also goes into a latency
// histogram (p50_ns ... max_ns), and both peers' CPU time into cpu_ns_per_msg.
// A spawned peer runs the same echo, by its entry name.
#include <charconv>
#include <stdexcept>
#include <string>

#include "bench/harness.hpp"
#include "bench/measure.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/spawn.hpp"

namespace bench {
namespace {

constexpr std::size_t kSizes[] = {16, 64, 256, 4096, 65536};

// The peer entry (also for a spawned peer): `arg` is the message size.
void echo_entry(ipc::Transport& t, std::string_view arg) {
  std::size_t size = 0;
  auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), size);
  if (ec != std::errc() || end != arg.data() + arg.size() || size < ipc::kHeaderBytes)
    throw std::invalid_argument("echo: bad message size '" + std::string(arg) + "'");
  echo(t, size);
}

[[maybe_unused]] const bool kEchoRegistered = ipc::register_peer_entry(kEchoEntry, echo_entry);

// The main side's timed loop; kRecord adds the per-round-trip latency recording.
template <bool kRecord>
void ping(benchmark::State& state, ipc::Transport& t, ipc::Heartbeat& heartbeat, std::size_t size,
          std::int64_t inject_ns, LatencyRecorder& latency) {
  ipc::Message out(size);
  ipc::AlignedBuffer in(size);
  std::uint64_t seq = 0;
  for (; seq < kWarmUpRoundTrips; ++seq) {  // untimed: see kWarmUpRoundTrips
    out.stamp(seq);
    t.send(out.bytes());
    ipc::verify_message(in.span().first(t.recv(in.span())), size, seq);
    heartbeat.beat();
  }
  // Each echo is verified while the next message travels, off the critical path: it stays
  // (in `in`, or in place in the transport's memory) until the next recv. `got` is the echo
  // not yet verified.
  std::span<const std::byte> got;
  const std::uint64_t first = seq;
  for (auto _ : state) {
    out.stamp(seq);
    busy_wait_ns(inject_ns);
    t.send(out.bytes());
    if constexpr (kRecord) latency.lap();  // while the message travels: see LatencyRecorder
    if (seq != first) ipc::verify_message(got, size, seq - 1);
    got = t.recv_in_place(in.span());
    ++seq;
    heartbeat.beat();
  }
  if constexpr (kRecord) latency.lap();  // the last round trip: n samples for n
  if (seq != first) ipc::verify_message(got, size, seq - 1);
  stop_echo(t, size, seq);
}

void BM_RoundTrip(benchmark::State& state, const ipc::TransportInfo* transport,
                  ipc::Context context, std::size_t size, ipc::PairOptions pair,
                  std::int64_t inject_ns) {
  const std::string label =
      std::string(transport->name) + "/" + std::string(ipc::context_name(context));
  if (skip_busy_poll_on_one_cpu(state, label, transport->busy_polls, pair.pin)) return;
  guarded(state, label, [&] {
    const ipc::Options options = transport_options(pair);
    const bool record = latency_recording_enabled();
    LatencyRecorder latency;
    CpuMeter cpu;
    ipc::run_named_pair(
        context, *transport, options, kEchoEntry, std::to_string(size),
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          if (record)
            ping<true>(state, t, heartbeat, size, inject_ns, latency);
          else
            ping<false>(state, t, heartbeat, size, inject_ns, latency);
        },
        pair);
    cpu.report(state, state.iterations());
    latency.report(state);
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
  });
}

}  // namespace

void register_roundtrip(const Config& config) {
  for (const ipc::TransportInfo* t : config.transports)
    for (ipc::Context c : contexts_with_spawn(config, *t))
      register_sized("roundtrip", BM_RoundTrip, *t, c, kSizes, config, /*swept=*/true);
}

}  // namespace bench
