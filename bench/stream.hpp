// One-way verified streams, shared by throughput/ and connection/: the sender stamps
// every message, the receiver verifies each (sequence and checksum) and acknowledges
// with its count, so the sender's clock stops when the last message was received.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>
#include <span>
#include <string>

#include "bench/harness.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/peer.hpp"

namespace bench {

inline void send_count(ipc::Transport& t, std::uint64_t count) {
  t.send(std::as_bytes(std::span(&count, 1)));
}

inline std::uint64_t recv_count(ipc::Transport& t, const char* what) {
  std::uint64_t count = 0;
  if (t.recv(std::as_writable_bytes(std::span(&count, 1))) != sizeof count)
    throw ipc::MessageError(std::string(what) + ": acknowledgement of the wrong size");
  return count;
}

inline void expect_count(std::uint64_t got, std::uint64_t want, const char* what) {
  if (got != want)
    throw ipc::MessageError(std::string(what) + ": receiver counted " + std::to_string(got) +
                            " messages, " + std::to_string(want) + " were sent");
}

// The receiving peer: verify every message; after every `ack_every` messages (0: never)
// send the count so far; on the empty end marker send the final count and return.
inline void stream_receiver(ipc::Transport& t, std::size_t size, std::uint64_t ack_every) {
  ipc::AlignedBuffer buf(size);
  for (std::uint64_t seq = 0;;) {
    std::span<const std::byte> m = t.recv_in_place(buf.span());  // zero copy if it can
    if (m.empty()) {
      send_count(t, seq);
      return;
    }
    ipc::verify_message(m, size, seq);
    ++seq;
    if (ack_every != 0 && seq % ack_every == 0) send_count(t, seq);
  }
}

// The sending side, one message per benchmark iteration. Periodic acknowledgements are
// read one window late, so the sender never waits for the receiver to catch up (at
// most two small acknowledgements are in flight); the final one is awaited inside the
// last iteration, so real time runs from the first send to the last message's arrival.
inline void stream_sender(benchmark::State& state, ipc::Transport& t, ipc::Heartbeat& heartbeat,
                          std::size_t size, std::uint64_t ack_every, std::int64_t inject_ns) {
  ipc::Message out(size);
  const auto total = static_cast<std::uint64_t>(state.max_iterations);
  std::uint64_t seq = 0;
  std::uint64_t acked = 0;  // the last periodic acknowledgement read
  auto read_ack = [&] {
    acked += ack_every;
    expect_count(recv_count(t, "stream"), acked, "periodic acknowledgement");
  };
  for (auto _ : state) {
    out.stamp(seq);
    busy_wait_ns(inject_ns);
    t.send(out.bytes());
    ++seq;
    heartbeat.beat();
    if (ack_every != 0 && seq % ack_every == 0 && seq >= 2 * ack_every) read_ack();
    if (seq == total) {
      t.send({});
      while (ack_every != 0 && acked + ack_every <= total) read_ack();
      expect_count(recv_count(t, "stream"), total, "final acknowledgement");
    }
  }
  if (seq != total) throw ipc::MessageError("stream: the benchmark loop ended early");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

}  // namespace bench
