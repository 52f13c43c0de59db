// throughput/<transport>/<context>/size:<bytes>: a one-way stream, one message per
// iteration; the receiver verifies each and acknowledges the count at the end of the
// run, inside the last iteration, so real time runs until the last message arrived.
// throughput/memcpy/thread/size:<bytes>: the same bytes copied once, page-aligned: the
// upper bound for any shared-memory transport.
#include <cstring>
#include <string>

#include "bench/harness.hpp"
#include "bench/measure.hpp"
#include "bench/stream.hpp"

namespace bench {
namespace {

constexpr std::size_t kSizes[] = {64, 4096, 65536, 1048576};

void BM_Throughput(benchmark::State& state, const ipc::TransportInfo* transport,
                   ipc::Context context, std::size_t size, ipc::PairOptions pair,
                   std::int64_t inject_ns) {
  const std::string label =
      std::string(transport->name) + "/" + std::string(ipc::context_name(context));
  if (skip_busy_poll_on_one_cpu(state, label, transport->busy_polls, pair.pin)) return;
  guarded(state, label, [&] {
    const ipc::Options options = transport_options(pair);
    CpuMeter cpu;  // both peers' CPU per message: cpu_ns_per_msg
    ipc::run_pair(
        context, transport->make(options),
        [size](ipc::Transport& t) { stream_receiver(t, size, 0); },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          stream_sender(state, t, heartbeat, size, 0, inject_ns);
        },
        pair);
    cpu.report(state, state.iterations());
  });
}

void BM_Memcpy(benchmark::State& state, std::size_t size) {
  guarded(state, "memcpy", [&] {
    ipc::Message src(size);
    ipc::AlignedBuffer dst(size);
    std::uint64_t seq = 0;
    for (auto _ : state) {
      src.stamp(seq);
      std::memcpy(dst.data(), src.bytes().data(), size);
      // The copy is observable, so it cannot be elided or merged across iterations.
      benchmark::DoNotOptimize(dst.data());
      benchmark::ClobberMemory();
      std::uint64_t got;
      std::memcpy(&got, dst.data(), sizeof got);
      if (got != seq) throw ipc::MessageError("memcpy: copy " + std::to_string(seq) + " lost");
      ++seq;
    }
    if (seq > 0) ipc::verify_message(dst.span(), size, seq - 1);
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  });
}

}  // namespace

void register_throughput(const Config& config) {
  bool threads = false;
  for (ipc::Context c : config.contexts) threads |= c == ipc::Context::kThread;
  for (std::size_t size : kSizes) {
    if (!threads) break;
    if (!size_selected(config, size)) continue;
    std::string name =
        join_name({"throughput", "memcpy", "thread", "size:" + std::to_string(size)});
    register_benchmark(name, BM_Memcpy, size);
  }
  for (const ipc::TransportInfo* t : config.transports)
    for (ipc::Context c : contexts_for(config, *t))
      register_sized("throughput", BM_Throughput, *t, c, kSizes, config);
}

}  // namespace bench
