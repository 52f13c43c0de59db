// floor/<kind>/<context>[/size:<bytes>]: what the machine allows at best, measured in the
// same run as the transports so that theirs can be read as multiples of it.
//   cacheline  a baton through one cache line of shared memory, busy-polled
//   cacheline-msg  the same baton carrying 64 bytes each way (a slot of two lines per side)
//   cacheline-ring the same through 32 such slots in turn (a ring of slots, nothing else)
//   futex      the same baton, each side sleeping in futex(2) at once
//   pipe-raw   one write(2) and one read(2) per message on two pipes, nothing else
//   fifo-raw   the same on two named pipes (mkfifo) in a temporary directory
//   uds-raw    the same on socketpair(AF_UNIX, SOCK_STREAM)
//   uds-seqpacket-raw, tcp-raw  the same on socketpair(AF_UNIX, SOCK_SEQPACKET) and on
//              a loopback TCP connection (TCP_NODELAY); each raw loop at 64 B, 4 KiB and
//              64 KiB (read(2) until the message is complete: one read when it is there)
//   pipe-raw-stream, uds-raw-stream  a one-way stream on the same: one write(2) of
//              <bytes> per message, reads of exactly <bytes>, no framing, no checks but
//              the count of messages at the end and the last one's bytes
//   stream-cross  blocks of <bytes> through two slots of shared memory between two
//              busy-polling peers: memcpy in, a flag, memcpy out (the cross-CPU copy floor)
//   posix-mq-raw  mq_send and mq_receive on two POSIX message queues, nothing else
//   sysv-mq-raw   msgsnd and msgrcv on two System V message queues, nothing else
//   eventfd-raw   a shared-memory slot per direction written in place, and one
//                 write(2)/read(2) of an eventfd per direction, nothing else
//   zmq-ipc-raw, nng-ipc-raw  each library's own ping-pong over ipc://, at the same sizes
//              (ipc/fixtures/floor_lib.hpp)
//   iceoryx-raw-spin / iceoryx-raw-wait  iceoryx's API directly (ipc/fixtures/iceoryx_floor.hpp):
//              loan, memcpy, publish; take (busy-polled / after a WaitSet wait), memcpy, release
//   memcpy     (thread only) one memcpy of <bytes> between page-aligned buffers: bytes/s
// The ping-pongs are round trips (one iteration each) and report cpu_ns_per_msg and the
// latency percentiles, recorded as in roundtrip/ right after each send, while the
// message travels (off the critical path; IPCBENCH_NO_LATENCY turns it off).
#include "ipc/fixtures/floor.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#include "bench/harness.hpp"
#include "bench/measure.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/fixtures/floor_lib.hpp"
#include "ipc/fixtures/raw_queues.hpp"
#include "ipc/transports/posix_mq.hpp"
#include "ipc/transports/sysv_mq.hpp"
#include "ipc/fixtures/iceoryx_floor.hpp"
#include "ipc/transports/iceoryx.hpp"

namespace bench {
namespace {

constexpr std::size_t kRawSize = 64;  // the baton's payload
// The raw system-call loops: the round trips' and streams' sizes they are floors of.
constexpr std::size_t kRawSizes[] = {64, 4096, 65536};

struct RawKind {
  const char* kind;
  ipc::ChannelFactory make;
};
constexpr RawKind kRawKinds[] = {
    {"pipe-raw", ipc::make_raw_pipe_channel},
    {"fifo-raw", ipc::make_raw_fifo_channel},
    {"uds-raw", ipc::make_raw_uds_channel},
    {"uds-seqpacket-raw", ipc::make_raw_seqpacket_channel},
    {"tcp-raw", ipc::make_raw_tcp_channel},
};
// floor/stream-cross: the shared-memory streams' sizes it is the floor of.
constexpr std::size_t kStreamCrossSizes[] = {4096, 65536, 1048576};
constexpr RawKind kRawStreamKinds[] = {
    {"pipe-raw-stream", ipc::make_raw_pipe_channel},
    {"uds-raw-stream", ipc::make_raw_uds_channel},
};
constexpr std::size_t kMemcpySizes[] = {64, 4096, 65536, 1048576};

// One floor ping-pong on the channel `make` opens: `peer` echoes on the other end; the
// main side makes the warm-up round trips, then one timed round trip per iteration
// (send(t), a latency lap while the message travels, receive(t), which throws on
// anything wrong), then finish(t). Reports the CPU per round trip, the percentiles and
// the items.
template <typename Make, typename Send, typename Receive, typename Finish>
void floor_ping_pong(benchmark::State& state, const std::string& label, ipc::Context context,
                     ipc::PairOptions pair, Make make, const ipc::PeerFn& peer, Send send,
                     Receive receive, Finish finish) {
  guarded(state, label, [&] {
    const ipc::Options options = transport_options(pair);
    CpuMeter cpu;
    LatencyRecorder latency;
    const bool record = latency_recording_enabled();
    ipc::run_pair(
        context, make(options), peer,
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          for (int i = 0; i < kWarmUpRoundTrips; ++i) {
            send(t);
            receive(t);
          }
          for (auto _ : state) {
            send(t);
            if (record) latency.lap();
            receive(t);
            heartbeat.beat();
          }
          if (record) latency.lap();  // the last round trip
          finish(t);
        },
        pair);
    cpu.report(state, state.iterations());
    latency.report(state);
    state.SetItemsProcessed(state.iterations());
  });
}

std::string floor_label(const char* kind, ipc::Context context) {
  return std::string("floor/") + kind + "/" + std::string(ipc::context_name(context));
}

// The baton ping-pong, named `kind`; with `slots` > 0, each pass carries kRawSize bytes
// through that many slots in turn (the 64-byte message floors), checked once at the end
// like the raw loops' echo.
void BM_Baton(benchmark::State& state, ipc::BatonEnd::Mode mode, const char* kind, int slots,
              ipc::Context context, ipc::PairOptions pair) {
  static_assert(kRawSize == ipc::BatonEnd::kPayloadBytes);
  const bool payload = slots > 0;
  const std::string label = floor_label(kind, context);
  if (skip_busy_poll_on_one_cpu(state, label, mode == ipc::BatonEnd::Mode::kSpin, pair.pin)) return;
  ipc::AlignedBuffer out(kRawSize), in(kRawSize);
  ipc::fill_pattern(out.span(), kRawSize);
  auto end = [](ipc::Transport& t) -> ipc::BatonEnd& { return static_cast<ipc::BatonEnd&>(t); };
  floor_ping_pong(
      state, label, context, pair,
      [&](const ipc::Options& options) {
        return ipc::make_baton_channel(options, mode, payload ? slots : 1);
      },
      [payload, end](ipc::Transport& t) {
        ipc::AlignedBuffer buf(kRawSize);
        const auto bytes = buf.span().first<kRawSize>();
        if (payload) {
          while (end(t).take(bytes)) end(t).pass(bytes);
        } else {
          while (end(t).take()) end(t).pass();
        }
      },
      [&](ipc::Transport& t) {
        if (payload)
          end(t).pass(out.span().first<kRawSize>());
        else
          end(t).pass();
      },
      [&](ipc::Transport& t) {
        if (!(payload ? end(t).take(in.span().first<kRawSize>()) : end(t).take()))
          throw ipc::MessageError("the peer stopped early");
      },
      [&](ipc::Transport& t) {
        if (!payload) return end(t).pass(true);
        end(t).stop_payload();
        ipc::check_pattern(in.span(), kRawSize);  // the last echo, once
      });
}

void BM_RawFd(benchmark::State& state, ipc::ChannelFactory make, const char* kind, std::size_t size,
              ipc::Context context, ipc::PairOptions pair) {
  ipc::AlignedBuffer out(size), in(size);
  ipc::fill_pattern(out.span(), size);
  auto end = [](ipc::Transport& t) -> ipc::RawFdEnd& { return static_cast<ipc::RawFdEnd&>(t); };
  floor_ping_pong(
      state, floor_label(kind, context), context, pair, make,
      [end, size](ipc::Transport& t) {
        ipc::AlignedBuffer buf(size);
        while (end(t).read_exact(buf.span()))
          if (end(t).write_once(buf.span()) != size) throw ipc::MessageError("short write");
      },
      [&](ipc::Transport& t) {
        if (end(t).write_once(out.span()) != size) throw ipc::MessageError("short write");
      },
      [&](ipc::Transport& t) {
        if (!end(t).read_exact(in.span())) throw ipc::MessageError("the peer stopped early");
      },
      [&](ipc::Transport& t) {
        end(t).end_stream();
        ipc::check_pattern(in.span(), size);  // the last echo, once
      });
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
}

// The raw stream: the main side writes `size` bytes per iteration (one write(2)), the
// peer reads exactly `size` per message (one read(2) when the kernel has them all),
// nothing else; at the end of the stream the peer writes back the count of messages it
// read (and checks the last one's bytes), inside the last iteration, so real time runs
// until the last message arrived.
void BM_RawStream(benchmark::State& state, ipc::ChannelFactory make, const char* kind,
                  std::size_t size, ipc::Context context, ipc::PairOptions pair) {
  guarded(state, floor_label(kind, context), [&] {
    const ipc::Options options = transport_options(pair);
    CpuMeter cpu;
    ipc::AlignedBuffer out(size);
    ipc::fill_pattern(out.span(), size);
    auto end = [](ipc::Transport& t) -> ipc::RawFdEnd& { return static_cast<ipc::RawFdEnd&>(t); };
    const auto total = static_cast<std::uint64_t>(state.max_iterations);
    ipc::run_pair(
        context, make(options),
        [end, size](ipc::Transport& t) {
          ipc::AlignedBuffer buf(size);
          std::uint64_t count = 0;
          while (end(t).read_exact(buf.span())) ++count;
          if (count > 0) ipc::check_pattern(buf.span(), size);
          const auto bytes = std::as_bytes(std::span(&count, 1));
          if (end(t).write_once(bytes) != bytes.size()) throw ipc::MessageError("short write");
        },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          std::uint64_t seq = 0;
          for (auto _ : state) {
            if (end(t).write_once(out.span()) != size) throw ipc::MessageError("short write");
            heartbeat.beat();
            if (++seq == total) {
              end(t).end_stream();
              std::uint64_t count = 0;
              if (!end(t).read_exact(std::as_writable_bytes(std::span(&count, 1))))
                throw ipc::MessageError("the peer sent no count");
              if (count != total)
                throw ipc::MessageError("the peer read " + std::to_string(count) + " of " +
                                        std::to_string(total) + " messages");
            }
          }
        },
        pair);
    cpu.report(state, state.iterations());
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  });
}

// floor/stream-cross: blocks of `size` bytes through two shared slots (memcpy in, flag,
// memcpy out), the main side producing one block per iteration; the last iteration
// waits until the consumer took every block. Busy-polled: the physical limit of moving
// bytes from one CPU to another, not an in-cache memcpy.
void BM_SlotStream(benchmark::State& state, std::size_t size, ipc::Context context,
                   ipc::PairOptions pair) {
  const std::string label = floor_label("stream-cross", context);
  if (skip_busy_poll_on_one_cpu(state, label, true, pair.pin)) return;
  guarded(state, label, [&] {
    const ipc::Options options = transport_options(pair);
    CpuMeter cpu;
    ipc::AlignedBuffer src(size);
    ipc::fill_pattern(src.span(), size);
    auto end = [](ipc::Transport& t) -> ipc::SlotStreamEnd& {
      return static_cast<ipc::SlotStreamEnd&>(t);
    };
    const auto total = static_cast<std::uint64_t>(state.max_iterations);
    ipc::run_pair(
        context, ipc::make_slot_stream_channel(options, size),
        [end, size](ipc::Transport& t) {
          ipc::AlignedBuffer dst(size);
          if (end(t).drain(dst.span()) > 0) ipc::check_pattern(dst.span(), size);
        },
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          std::uint64_t n = 0;
          for (auto _ : state) {
            end(t).put(src.span(), n);
            heartbeat.beat();
            if (++n == total) {
              if (std::uint64_t got = end(t).finish(n); got != total)
                throw ipc::MessageError("the consumer took " + std::to_string(got) + " of " +
                                        std::to_string(total) + " blocks");
            }
          }
        },
        pair);
    cpu.report(state, state.iterations());
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  });
}

// The raw iceoryx loop: the same channel as the iceoryx-<wait> transport, driven through
// iceoryx's API directly; the last echo is checked once, like the raw fd loops'.
void BM_RawIceoryx(benchmark::State& state, ipc::IceoryxWait wait, const char* kind,
                   ipc::Context context, ipc::PairOptions pair) {
  const std::string label = floor_label(kind, context);
  if (skip_busy_poll_on_one_cpu(state, label, wait == ipc::IceoryxWait::kSpin, pair.pin)) return;
  ipc::AlignedBuffer out(kRawSize), in(kRawSize);
  ipc::fill_pattern(out.span(), kRawSize);
  std::unique_ptr<ipc::RawIceoryx> main_end;
  auto raw = [&](ipc::Transport& t) -> ipc::RawIceoryx& {
    if (!main_end) main_end = std::make_unique<ipc::RawIceoryx>(t);
    return *main_end;
  };
  floor_ping_pong(
      state, label, context, pair,
      [wait](const ipc::Options& options) { return ipc::make_iceoryx_channel(options, wait); },
      [](ipc::Transport& t) {
        ipc::RawIceoryx end(t);
        ipc::AlignedBuffer buf(kRawSize);
        for (;;) {
          std::size_t n = end.recv(buf.span());
          if (n == 0) return;
          end.send(buf.span().first(n));
        }
      },
      [&](ipc::Transport& t) { raw(t).send(out.span()); },
      [&](ipc::Transport& t) {
        if (std::size_t n = raw(t).recv(in.span()); n != kRawSize)
          throw ipc::MessageError("got " + std::to_string(n) + " of " + std::to_string(kRawSize) +
                                  " bytes back");
      },
      [&](ipc::Transport& t) {
        raw(t).send({});
        ipc::check_pattern(in.span(), kRawSize);  // the last echo, once
      });
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * kRawSize));
}

// The kernel-queue and eventfd raw loops (raw_queues.hpp): the peer echoes each message
// from where it arrived; the main side fills its send buffer once, checks each echo's size
// and the last echo's bytes once.
void BM_RawQueue(benchmark::State& state, ipc::ChannelFactory make, const char* kind,
                 std::size_t size, ipc::Context context, ipc::PairOptions pair) {
  ipc::AlignedBuffer expected(size);
  ipc::fill_pattern(expected.span(), size);
  auto end = [](ipc::Transport& t) -> ipc::RawEnd& { return static_cast<ipc::RawEnd&>(t); };
  floor_ping_pong(
      state, floor_label(kind, context), context, pair,
      [&](const ipc::Options& options) {
        ipc::Channel ch = make(options);
        std::memcpy(static_cast<ipc::RawEnd&>(*ch.a).out_bytes(), expected.data(), size);
        return ch;
      },
      [end](ipc::Transport& t) {
        for (std::size_t n; (n = end(t).recv_raw()) != 0;) end(t).echo_raw(n);
      },
      [&](ipc::Transport& t) { end(t).send_raw(size); },
      [&](ipc::Transport& t) {
        if (std::size_t n = end(t).recv_raw(); n != size)
          throw ipc::MessageError("got " + std::to_string(n) + " of " + std::to_string(size) +
                                  " bytes back");
      },
      [&](ipc::Transport& t) {
        end(t).end_stream();
        if (std::memcmp(end(t).in_bytes(), expected.data(), size) != 0)
          throw ipc::MessageError("the last echo differs from the message");  // once
      });
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
}

// The kernel-queue and eventfd raw loops, at each of kRawSizes their kernel allows.
struct RawQueueKind {
  const char* kind;
  ipc::ChannelFactory make;
  std::size_t (*max_size)();
};
std::size_t no_limit() { return SIZE_MAX; }
const RawQueueKind kRawQueueKinds[] = {
    {"posix-mq-raw", ipc::make_raw_posix_mq_channel, ipc::posix_mq_max_message},
    {"sysv-mq-raw", ipc::make_raw_sysv_mq_channel, ipc::sysv_mq_max_message},
    {"eventfd-raw", ipc::make_raw_eventfd_channel, no_limit},
};

// A library's own ping-pong (floor_lib.hpp): its ends' send and recv are the library's
// calls, nothing else; an empty message stops the echo.
void BM_RawLib(benchmark::State& state, ipc::ChannelFactory make, const char* kind,
               std::size_t size, ipc::Context context, ipc::PairOptions pair) {
  ipc::AlignedBuffer out(size), in(size);
  ipc::fill_pattern(out.span(), size);
  floor_ping_pong(
      state, floor_label(kind, context), context, pair, make,
      [size](ipc::Transport& t) {
        ipc::AlignedBuffer buf(size);
        for (std::size_t n; (n = t.recv(buf.span())) != 0;) t.send(buf.span().first(n));
      },
      [&](ipc::Transport& t) { t.send(out.span()); },
      [&](ipc::Transport& t) {
        if (std::size_t n = t.recv(in.span()); n != size)
          throw ipc::MessageError("got " + std::to_string(n) + " of " + std::to_string(size) +
                                  " bytes back");
      },
      [&](ipc::Transport& t) {
        t.send({});
        ipc::check_pattern(in.span(), size);  // the last echo, once
      });
  if (!state.error_occurred())
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * size));
}

void BM_Memcpy(benchmark::State& state, std::size_t size) {
  guarded(state, "floor/memcpy/thread", [&] {
    ipc::AlignedBuffer src(size), dst(size);
    ipc::fill_pattern(src.span(), size);
    std::memset(dst.data(), 0, size);
    for (auto _ : state) {
      std::memcpy(dst.data(), src.data(), size);
      benchmark::ClobberMemory();
    }
    ipc::check_pattern(dst.span(), size);
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
  });
}

// Only when an iceoryx transport is selected: its floor needs RouDi, which a run without
// iceoryx never starts.
bool wants_iceoryx(const Config& config) {
  for (const ipc::TransportInfo* t : config.transports)
    if (t->name.starts_with("iceoryx")) return true;
  return false;
}

}  // namespace

void register_floor(const Config& config) {
  for (ipc::Context c : config.contexts) {
    const std::string ctx(ipc::context_name(c));
    const std::string size = "size:" + std::to_string(kRawSize);
    for (const Placed& p : placements(config, /*busy_polls=*/true)) {
      register_benchmark(join_name({"floor", "cacheline", ctx}) + p.suffix, BM_Baton,
                         ipc::BatonEnd::Mode::kSpin, "cacheline", 0, c, p.pair);
      register_benchmark(join_name({"floor", "cacheline-msg", ctx, size}) + p.suffix, BM_Baton,
                         ipc::BatonEnd::Mode::kSpin, "cacheline-msg", 1, c, p.pair);
      register_benchmark(join_name({"floor", "cacheline-ring", ctx, size}) + p.suffix, BM_Baton,
                         ipc::BatonEnd::Mode::kSpin, "cacheline-ring", ipc::BatonEnd::kRingSlots, c,
                         p.pair);
      for (std::size_t n : kStreamCrossSizes)
        register_benchmark(
            join_name({"floor", "stream-cross", ctx, "size:" + std::to_string(n)}) + p.suffix,
            BM_SlotStream, n, c, p.pair);
      if (wants_iceoryx(config))
        register_benchmark(join_name({"floor", "iceoryx-raw-spin", ctx, size}) + p.suffix,
                           BM_RawIceoryx, ipc::IceoryxWait::kSpin, "iceoryx-raw-spin", c, p.pair);
    }
    for (const Placed& p : placements(config, /*busy_polls=*/false)) {
      register_benchmark(join_name({"floor", "futex", ctx}) + p.suffix, BM_Baton,
                         ipc::BatonEnd::Mode::kFutex, "futex", 0, c, p.pair);
      for (const RawKind& raw : kRawKinds)
        for (std::size_t n : kRawSizes)
          register_benchmark(
              join_name({"floor", raw.kind, ctx, "size:" + std::to_string(n)}) + p.suffix, BM_RawFd,
              raw.make, raw.kind, n, c, p.pair);
      for (const RawKind& raw : kRawStreamKinds)
        for (std::size_t n : kRawSizes)
          register_benchmark(
              join_name({"floor", raw.kind, ctx, "size:" + std::to_string(n)}) + p.suffix,
              BM_RawStream, raw.make, raw.kind, n, c, p.pair);
      for (const RawQueueKind& raw : kRawQueueKinds)
        for (std::size_t n : kRawSizes)
          if (n <= raw.max_size())
            register_benchmark(
                join_name({"floor", raw.kind, ctx, "size:" + std::to_string(n)}) + p.suffix,
                BM_RawQueue, raw.make, raw.kind, n, c, p.pair);
      for (std::size_t n : kRawSizes) {
        const std::string size = "size:" + std::to_string(n);
        if (c == ipc::Context::kThread || c == ipc::Context::kProcess)
          register_benchmark(join_name({"floor", "zmq-ipc-raw", ctx, size}) + p.suffix, BM_RawLib,
                             ipc::make_raw_zmq_ipc_channel, "zmq-ipc-raw", n, c, p.pair);
        if (c == ipc::Context::kThread)  // nng is not fork-safe
          register_benchmark(join_name({"floor", "nng-ipc-raw", ctx, size}) + p.suffix, BM_RawLib,
                             ipc::make_raw_nng_ipc_channel, "nng-ipc-raw", n, c, p.pair);
      }
      if (wants_iceoryx(config))
        register_benchmark(join_name({"floor", "iceoryx-raw-wait", ctx, size}) + p.suffix,
                           BM_RawIceoryx, ipc::IceoryxWait::kWaitSet, "iceoryx-raw-wait", c,
                           p.pair);
    }
  }
  for (ipc::Context c : config.contexts) {
    if (c != ipc::Context::kThread) continue;
    for (std::size_t size : kMemcpySizes)
      register_benchmark(join_name({"floor", "memcpy", "thread", "size:" + std::to_string(size)}),
                         BM_Memcpy, size);
  }
}

}  // namespace bench
