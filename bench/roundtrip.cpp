// roundtrip/<transport>/<context>/size:<bytes>: ping-pong. The main side sends a stamped
// message, the peer verifies and echoes it, the main side verifies the echo. One
// iteration is one round trip, timed in real time (a forked peer's CPU is invisible to
// Google Benchmark's CPU timer).
#include <string>

#include "bench/harness.hpp"
#include "ipc/buffer.hpp"
#include "ipc/message.hpp"

namespace bench {
namespace {

constexpr std::size_t kSizes[] = {16, 256, 4096, 65536};

// The peer: verify each message and send it back, until an empty message says stop.
void echo(ipc::Transport& t, std::size_t size) {
  ipc::AlignedBuffer buf(size);
  for (std::uint64_t seq = 0;; ++seq) {
    std::size_t n = t.recv(buf.span());
    if (n == 0) return;
    ipc::verify_message(buf.span().first(n), size, seq);
    t.send(buf.span().first(n));
  }
}

void BM_RoundTrip(benchmark::State& state, const ipc::TransportInfo* transport,
                  ipc::Context context, std::size_t size, std::chrono::milliseconds timeout,
                  std::int64_t inject_ns) {
  const std::string label =
      std::string(transport->name) + "/" + std::string(ipc::context_name(context));
  guarded(state, label, [&] {
    ipc::Options options;
    options.timeout = 2 * timeout;  // a backstop: the watchdog in run_pair acts first
    ipc::run_pair(
        context, transport->make(options), [size](ipc::Transport& t) { echo(t, size); },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          ipc::Message out(size);
          ipc::AlignedBuffer in(size);
          std::uint64_t seq = 0;
          for (auto _ : state) {
            out.stamp(seq);
            busy_wait_ns(inject_ns);
            t.send(out.bytes());
            std::size_t n = t.recv(in.span());
            ipc::verify_message(in.span().first(n), size, seq);
            ++seq;
            heartbeat.beat();
          }
          t.send({});
        },
        {.timeout = timeout});
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
  });
}

}  // namespace

void register_roundtrip(const Config& config) {
  for (const ipc::TransportInfo* t : config.transports) {
    for (ipc::Context c : contexts_for(config, *t)) {
      for (std::size_t size : kSizes) {
        std::string name = join_name({"roundtrip", t->name, ipc::context_name(c),
                                      "size:" + std::to_string(size)});
        benchmark::RegisterBenchmark(name.c_str(), BM_RoundTrip, t, c, size, config.timeout,
                                     injected_delay_ns(name))
            ->UseRealTime();
      }
    }
  }
}

}  // namespace bench
