// fanin/<kind>/<context>/clients:<n>: n clients and one dedicated server, the "resource
// thread" of the seed advice, which every request for the resource goes through. Each
// client (a thread or a forked process) puts a verified request on one shared request
// queue and waits for its answer on a reply queue of its own (the "(request,
// receivingqueue)" pair: the request names its client, whose queue the server answers
// on). The server is the benchmarking thread: it verifies each request (from a known
// client, that client's next number, intact) and sends it back unchanged; the client
// verifies the answer (its own request, the number it sent) before its next request.
//
// One iteration is one request served: items_per_second is requests/s of all clients.
// Latency per request (p50_ns ... max_ns) is the client's, from its put to its answer's
// arrival; each request carries the latency of the client's previous one, so the server
// records them all without a second channel. At the end the server answers each client's
// next request with a stop. share_min / share_max: the smallest and largest fraction of
// the requests one client made. cpus / busy_peers / oversubscribed as in pool.cpp (busy
// peers: n clients and the server).
#include <algorithm>
#include <string>
#include <vector>

#include "bench/harness.hpp"
#include "bench/measure.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/fixtures/latency.hpp"
#include "ipc/fixtures/pool.hpp"
#include "ipc/run/group.hpp"

namespace bench {
namespace {

constexpr std::size_t kClientCounts[] = {1, 2, 4, 8};
constexpr std::size_t kSize = 64;
constexpr int kWarmUpRequests = 32;  // per client

void client(ipc::Transport& t, std::size_t index, std::size_t size) {
  ipc::AlignedBuffer out(size), in(size);
  const auto me = static_cast<std::uint32_t>(index);
  std::uint64_t last_ticks = 0;
  for (std::uint64_t k = 0;; ++k) {
    ipc::stamp_task(out.span(), k, me, last_ticks);
    const std::uint64_t t0 = ipc::ticks();
    t.send(out.span());
    const std::size_t n = t.recv(in.span());
    last_ticks = ipc::ticks() - t0;
    const ipc::TaskHead h = ipc::verify_task(in.span().first(n), size);
    if (h.from != me)
      throw ipc::MessageError("client " + std::to_string(me) + " got the answer for client " +
                              std::to_string(h.from));
    if (h.seq == ipc::kStopSeq) return;
    if (h.seq != k)
      throw ipc::MessageError("client " + std::to_string(me) + " sent request " +
                              std::to_string(k) + ", got the answer to " + std::to_string(h.seq));
  }
}

class Server {
 public:
  Server(std::span<ipc::Transport* const> ends, std::size_t size, const std::function<void()>& beat)
      : ends_(ends),
        size_(size),
        beat_(beat),
        buf_(size),
        next_(ends.size(), 0),
        stopped_(ends.size(), false) {}

  // Takes one request, checks it, and answers it (with a stop if `stop`).
  void serve(bool stop) {
    const std::size_t got = ends_[0]->recv(buf_.span());
    const ipc::TaskHead h = ipc::verify_task(buf_.span().first(got), size_);
    if (h.from >= ends_.size())
      throw ipc::MessageError("request from client " + std::to_string(h.from) + " of " +
                              std::to_string(ends_.size()));
    if (stopped_[h.from])
      throw ipc::MessageError("client " + std::to_string(h.from) + ": request after its stop");
    if (h.seq != next_[h.from])
      throw ipc::MessageError("client " + std::to_string(h.from) + ": request " +
                              std::to_string(h.seq) + ", expected " +
                              std::to_string(next_[h.from]) +
                              (h.seq < next_[h.from] ? " (duplicated)" : " (lost)"));
    ++next_[h.from];
    if (timed_ && h.seq != 0) latency_.record(h.extra);
    if (stop) {
      stopped_[h.from] = true;
      ipc::stamp_task(buf_.span(), ipc::kStopSeq, h.from, 0);
    }
    ends_[h.from]->send(buf_.span().first(got));
    beat_();
  }

  void run(benchmark::State& state) {
    for (std::size_t i = 0; i < kWarmUpRequests * ends_.size(); ++i) serve(false);
    timed_ = true;
    for (auto _ : state) serve(false);
    timed_ = false;
  }

  // Each client has one request outstanding or on its way: answer n with a stop.
  void finish() {
    for (std::size_t i = 0; i < ends_.size(); ++i) serve(true);
  }

  void report(benchmark::State& state) const {
    report_percentiles(state, latency_);
    std::uint64_t total = 0, lo = ~std::uint64_t{0}, hi = 0;
    for (std::uint64_t c : next_) {
      total += c;
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    state.counters["share_min"] = static_cast<double>(lo) / static_cast<double>(total);
    state.counters["share_max"] = static_cast<double>(hi) / static_cast<double>(total);
  }

 private:
  std::span<ipc::Transport* const> ends_;
  std::size_t size_;
  const std::function<void()>& beat_;
  ipc::AlignedBuffer buf_;
  std::vector<std::uint64_t> next_;
  std::vector<bool> stopped_;
  bool timed_ = false;
  ipc::LatencyHistogram latency_;
};

std::string label_of(const ipc::SharedQueueInfo& kind, ipc::Context context, std::size_t clients) {
  return join_name(
      {"fanin", kind.name, ipc::context_name(context), "clients:" + std::to_string(clients)});
}

void BM_FanIn(benchmark::State& state, const ipc::SharedQueueInfo* kind, ipc::Context context,
              std::size_t clients, ipc::PairOptions pair) {
  guarded(state, label_of(*kind, context, clients), [&] {
    ipc::Options options = transport_options(pair);
    options.buffer_bytes = 4 * (clients + 1) * kSize;  // one request per client at most
    auto set = std::make_shared<ipc::QueueSet>();
    set->queues.push_back(kind->make(options, kSize));  // the requests
    for (std::size_t i = 0; i < clients; ++i) set->queues.push_back(kind->make(options, kSize));
    ipc::SharedQueue* requests = set->queues[0].get();
    std::vector<ipc::Channel> channels;
    for (std::size_t i = 0; i < clients; ++i) {
      ipc::SharedQueue* reply = set->queues[i + 1].get();
      channels.push_back({ipc::make_queue_end(set, requests, reply, true),
                          ipc::make_queue_end(set, reply, requests, false)});
    }
    ipc::run_group(
        context, std::move(channels),
        [&](std::size_t i, ipc::Transport& t) { client(t, i, kSize); },
        [&](std::span<ipc::Transport* const> ends, const std::function<void()>& beat) {
          Server server(ends, kSize, beat);
          server.run(state);
          set->finishing = true;
          server.finish();
          server.report(state);
        },
        pair);
    state.SetItemsProcessed(state.iterations());
    state.counters["clients"] = static_cast<double>(clients);
    report_peers(state, clients + 1);
  });
}

}  // namespace

void register_fanin(const Config& config) {
  for (const ipc::SharedQueueInfo* kind : config.shared_queues)
    for (ipc::Context c : config.contexts) {
      if (c == ipc::Context::kProcess && !kind->cross_process) continue;
      if (c == ipc::Context::kSpawn) continue;
      for (std::size_t n : kClientCounts)
        register_benchmark(label_of(*kind, c, n) + "/size:" + std::to_string(kSize), BM_FanIn, kind,
                           c, n, pair_options(config));
    }
}

}  // namespace bench
