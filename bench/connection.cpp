// Listener/Client connections (ipc/fixtures/connection.hpp, namespace ipc::connection), as
// multiprocessing.connection is used:
//   connection/<family>/<context>/size:<bytes>      one-way stream, client to server; the
//       server verifies every message and acknowledges every kAckEvery messages and at the
//       end (inside the last iteration), so the count is checked as it goes;
//   connection-roundtrip/<family>/<context>/size:64 request/response over one connection;
//   connection-setup/<family>/<context>             connect + one round trip + close.
// The server (the peer) is a thread or a forked process. For the first two the connection
// is made before the peer starts, so only the data path is timed.
#include "ipc/fixtures/connection.hpp"

#include <string>

#include "bench/harness.hpp"
#include "bench/stream.hpp"
#include "ipc/transports/pipe.hpp"

namespace bench {
namespace {

namespace conn = ipc::connection;

constexpr std::size_t kSizes[] = {64, 4096, 65536, 1048576};
constexpr std::size_t kRoundTripSize = 64;
constexpr std::uint64_t kAckEvery = 64;
constexpr conn::Family kFamilies[] = {conn::Family::kUnix, conn::Family::kUnixAbstract,
                                      conn::Family::kTcp};

std::string label_of(conn::Family family, ipc::Context context) {
  return std::string(conn::family_name(family)) + "/" + std::string(ipc::context_name(context));
}

// A connected pair: the client end is `a` (the benchmark side), the server's `b`.
ipc::Channel connected_pair(conn::Listener& listener, conn::Timeout timeout) {
  auto client = std::make_unique<conn::Connection>(conn::Client(listener.address(), timeout));
  auto server = std::make_unique<conn::Connection>(listener.accept());
  return {std::move(client), std::move(server)};
}

void BM_ConnectionStream(benchmark::State& state, conn::Family family, ipc::Context context,
                         std::size_t size, ipc::PairOptions pair, std::int64_t inject_ns) {
  guarded(state, label_of(family, context), [&] {
    conn::Listener listener = conn::Listener::any(family, backstop(pair));
    ipc::run_pair(
        context, connected_pair(listener, backstop(pair)),
        [size](ipc::Transport& t) { stream_receiver(t, size, kAckEvery); },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          stream_sender(state, t, heartbeat, size, kAckEvery, inject_ns);
        },
        pair);
  });
}

void round_trip(ipc::Transport& t, ipc::Message& out, ipc::AlignedBuffer& in, std::uint64_t seq) {
  out.stamp(seq);
  t.send(out.bytes());
  std::size_t n = t.recv(in.span());
  ipc::verify_message(in.span().first(n), out.size(), seq);
}

void BM_ConnectionRoundTrip(benchmark::State& state, conn::Family family, ipc::Context context,
                            ipc::PairOptions pair, std::int64_t inject_ns) {
  guarded(state, label_of(family, context), [&] {
    conn::Listener listener = conn::Listener::any(family, backstop(pair));
    ipc::run_pair(
        context, connected_pair(listener, backstop(pair)),
        [](ipc::Transport& t) { echo(t, kRoundTripSize); },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          ipc::Message out(kRoundTripSize);
          ipc::AlignedBuffer in(kRoundTripSize);
          std::uint64_t seq = 0;
          for (auto _ : state) {
            busy_wait_ns(inject_ns);
            round_trip(t, out, in, seq++);
            heartbeat.beat();
          }
          stop_echo(t, kRoundTripSize, seq);
        },
        pair);
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * kRoundTripSize));
  });
}

// The peer's end of a set-up run is the Listener itself: run_pair's shutdown() (main
// failed, or the pair hung) must wake a server blocked in accept().
class ListenerEnd final : public ipc::Transport {
 public:
  explicit ListenerEnd(conn::Listener& listener) : listener_(listener) {}
  void send(std::span<const std::byte>) override { throw std::logic_error("ListenerEnd::send"); }
  std::size_t recv(std::span<std::byte>) override { throw std::logic_error("ListenerEnd::recv"); }
  void shutdown() noexcept override { listener_.shutdown(); }
  void on_peer_exit() noexcept override {}
  conn::Listener& listener() { return listener_; }

 private:
  conn::Listener& listener_;
};

// The set-up server: accept, verify the request, echo it, close; an empty request ends it.
void accept_loop(conn::Listener& listener) {
  ipc::AlignedBuffer buf(kRoundTripSize);
  for (std::uint64_t seq = 0;; ++seq) {
    conn::Connection c = listener.accept();
    std::size_t n = c.recv_bytes(buf.span());
    if (n == 0) return;
    ipc::verify_message(buf.span().first(n), kRoundTripSize, seq);
    c.send_bytes(buf.span().first(n));
  }
}

void BM_ConnectionSetup(benchmark::State& state, conn::Family family, ipc::Context context,
                        ipc::PairOptions pair, std::int64_t inject_ns) {
  guarded(state, label_of(family, context), [&] {
    conn::Listener listener = conn::Listener::any(family, backstop(pair));
    // The main side needs no channel: a pipe end stands in for it.
    ipc::Channel channel = ipc::make_pipe_channel({});
    channel.b = std::make_unique<ListenerEnd>(listener);
    ipc::run_pair(
        context, std::move(channel),
        [](ipc::Transport& t) { accept_loop(static_cast<ListenerEnd&>(t).listener()); },
        [&](ipc::Transport&, ipc::Heartbeat& heartbeat) {
          ipc::Message out(kRoundTripSize);
          ipc::AlignedBuffer in(kRoundTripSize);
          std::uint64_t seq = 0;
          for (auto _ : state) {
            busy_wait_ns(inject_ns);
            conn::Connection c = conn::Client(listener.address(), backstop(pair));
            round_trip(c, out, in, seq++);
            c.close();
            heartbeat.beat();
          }
          conn::Client(listener.address(), backstop(pair)).send_bytes({});
        },
        pair);
    state.SetItemsProcessed(state.iterations());
  });
}

}  // namespace

void register_connection(const Config& config) {
  for (conn::Family f : kFamilies) {
    const std::string family(conn::family_name(f));
    for (ipc::Context c : config.contexts) {
      const std::string context(ipc::context_name(c));
      for (std::size_t size : kSizes) {
        std::string name =
            join_name({"connection", family, context, "size:" + std::to_string(size)});
        register_benchmark(name, BM_ConnectionStream, f, c, size, pair_options(config),
                           injected_delay_ns(name));
      }
      std::string name = join_name(
          {"connection-roundtrip", family, context, "size:" + std::to_string(kRoundTripSize)});
      register_benchmark(name, BM_ConnectionRoundTrip, f, c, pair_options(config),
                         injected_delay_ns(name));
      name = join_name({"connection-setup", family, context});
      register_benchmark(name, BM_ConnectionSetup, f, c, pair_options(config),
                         injected_delay_ns(name));
    }
  }
}

}  // namespace bench
