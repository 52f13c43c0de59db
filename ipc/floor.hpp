// Floor channels: the cheapest round trip each mechanism allows here, measured in the
// same run as the transports so that their figures can be read as multiples of it.
// They are Transports only so that run_pair can run, pin, watch and stop them; the
// floor benchmarks call their non-virtual fast paths directly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "ipc/error.hpp"
#include "ipc/transport.hpp"
#include "ipc/unique_fd.hpp"
#include "ipc/wait.hpp"

namespace ipc {

// A baton passed back and forth through one cache line of shared memory: each end
// writes its own word of the line and waits for the other's to change. A word carries
// no bytes, only "your turn" or "stop". kSpin busy-polls (the cache-line ping-pong
// floor) and yields every kYieldEvery polls, so that it still ends on one CPU; kFutex
// sleeps in futex(2) at once and wakes the other side with FUTEX_WAKE.
//
// The baton can also carry a 64-byte payload (pass(data), take(data); an end uses one
// form or the other throughout). Then each side has slots of its own, each a line with
// its "ready" word and the next line with the bytes, written before the word.
//  - One slot, reused every time (floor/cacheline-msg): the least a 64-byte message can
//    cost, since its bytes and a ready mark cannot share one 64-byte line, so two lines
//    move each way. Of the layouts tried here (the shared baton line plus a payload
//    line per side, the ready word and 56 bytes in one line), this was the fastest.
//  - kRingSlots slots in turn (floor/cacheline-ring): a ring of slots, as any queue
//    of messages has, with nothing else of a real one (no framing, no checksum, no
//    flow control: ping-pong only). Fresh lines every message cost more than the same
//    ones again.
class BatonEnd final : public Transport {
 public:
  enum class Mode { kSpin, kFutex };
  static constexpr std::size_t kPayloadBytes = 64;
  static constexpr int kRingSlots = 32;  // 4 KiB of slots per side

  struct Line {
    alignas(64) std::atomic<std::uint32_t> word[2];
    std::atomic<std::uint32_t> waiting[2];
    alignas(64) std::atomic<std::uint32_t> closed;
    // A 128-byte pair of lines (fetched together by the adjacent-line prefetcher) per
    // slot, never shared by the two sides.
    struct alignas(128) Slot {
      std::atomic<std::uint32_t> ready;
      alignas(64) std::byte bytes[kPayloadBytes];
    } slot[2][kRingSlots];
  };

  // `slots`: how many of the payload slots a side uses in turn (1 to kRingSlots).
  BatonEnd(std::shared_ptr<void> keep, Line* line, int side, Mode mode, int slots,
           std::chrono::milliseconds timeout) noexcept
      : keep_(std::move(keep)), line_(line), side_(side), mode_(mode), slots_(slots),
        timeout_(timeout) {}

  // Passes the baton (or, with stop, tells the other side to finish).
  void pass(bool stop = false) noexcept { signal(line_->word[side_], stop); }

  // Waits for the other side's baton; false if it said stop. Throws ClosedError after
  // shutdown() and TimeoutError after the timeout without a baton.
  bool take() { return wait(line_->word[1 - side_]); }

  // The same with kPayloadBytes of payload: written before the ready word (its release
  // store publishes them), read after it changed (its acquire load).
  void pass(std::span<const std::byte, kPayloadBytes> data) noexcept {
    Line::Slot& slot = next_out();
    std::memcpy(slot.bytes, data.data(), kPayloadBytes);
    signal(slot.ready, false);
  }
  bool take(std::span<std::byte, kPayloadBytes> data) {
    // Message m goes to slot m % slots_, whose word last said message m - slots_.
    const std::uint32_t m = taken_++;
    Line::Slot& slot = line_->slot[1 - side_][m % static_cast<std::uint32_t>(slots_)];
    seen_ = m >= static_cast<std::uint32_t>(slots_) ? 2 * (m - slots_ + 1) : 0;
    const bool more = wait(slot.ready);
    // The word says which message this is: one lost or overwritten is an error.
    if ((seen_ & ~1u) != 2 * (m + 1))
      throw MessageError("floor baton: message " + std::to_string(m) +
                         ": out of order or lost (its slot says message " +
                         std::to_string(seen_ / 2 - 1) + ")");
    if (!more) return false;
    std::memcpy(data.data(), slot.bytes, kPayloadBytes);
    return true;
  }
  // Tells the other side of a payload-carrying baton to finish.
  void stop_payload() noexcept { signal(next_out().ready, true); }

  void send(std::span<const std::byte> message) override { pass(message.empty()); }
  std::size_t recv(std::span<std::byte>) override { return take() ? 1 : 0; }
  void shutdown() noexcept override;

 private:
  static constexpr std::uint32_t kYieldEvery = 256;

  // Stores the next value into our `word` (the low bit says stop); wakes a sleeper.
  void signal(std::atomic<std::uint32_t>& word, bool stop) noexcept {
    sent_ += 2;
    const std::uint32_t value = sent_ | (stop ? 1u : 0u);
    if (mode_ == Mode::kSpin) {
      word.store(value, std::memory_order_release);
      return;
    }
    // Dekker with wait(): either we see its waiting flag, or it sees our value.
    word.store(value, std::memory_order_seq_cst);
    if (line_->waiting[side_].load(std::memory_order_seq_cst) != 0)
      futex_wake(futex_word(word));
  }

  // Waits for the other side's `word` to change; false if it said stop.
  bool wait(std::atomic<std::uint32_t>& word) {
    std::uint32_t value = word.load(std::memory_order_acquire);
    if (value == seen_) value = take_slow(word);
    seen_ = value;
    return (value & 1u) == 0;
  }

  // The slot our next payload goes to.
  Line::Slot& next_out() noexcept {
    return line_->slot[side_][(sent_ / 2) % static_cast<std::uint32_t>(slots_)];
  }

  std::uint32_t take_slow(std::atomic<std::uint32_t>& word);
  // Throws if the channel is closed, or if `deadline` (when given) has passed.
  void check(LazyDeadline* deadline) const;

  std::shared_ptr<void> keep_;  // the shared mapping
  Line* line_;
  int side_;
  Mode mode_;
  int slots_;
  std::chrono::milliseconds timeout_;
  std::uint32_t sent_ = 0;
  std::uint32_t seen_ = 0;
  std::uint32_t taken_ = 0;  // payloads taken
};

// Both ends of a baton channel on a fresh shared mapping (inherited across fork).
// channel.a and channel.b are BatonEnds; `slots` as in BatonEnd's constructor.
Channel make_baton_channel(const Options& options, BatonEnd::Mode mode, int slots = 1);

// A raw byte stream: one write(2) per send and one read(2) per recv, nothing else: no
// length prefix, no loop over short transfers, no buffering. A ping-pong of small
// messages over it is the floor of the pipe, fifo and uds transports. send({}) ends the
// stream (the other side's next read returns 0).
class RawFdEnd final : public Transport {
 public:
  RawFdEnd(UniqueFd read_fd, UniqueFd write_fd, bool socket, const char* what);

  // One write(2) (send(2) with MSG_NOSIGNAL on a socket); returns what it wrote.
  std::size_t write_once(std::span<const std::byte> data);
  // One read(2) into `data`; returns what it read, 0 at end of stream.
  std::size_t read_once(std::span<std::byte> data);
  void end_stream() noexcept;

  void send(std::span<const std::byte> message) override;
  std::size_t recv(std::span<std::byte> buffer) override { return read_once(buffer); }
  void shutdown() noexcept override;
  void on_peer_exit() noexcept override {}  // the kernel ends our reads and writes

 private:
  UniqueFd read_fd_;
  UniqueFd write_fd_;  // empty for a socket: read_fd_ is both
  bool socket_;
  std::atomic<bool> shut_{false};
  const char* what_;
};

// Two anonymous pipes / two FIFOs in a private temporary directory (as the fifo
// transport makes them) / a socketpair(AF_UNIX, SOCK_STREAM); the ends are RawFdEnds.
Channel make_raw_pipe_channel(const Options& options);
Channel make_raw_fifo_channel(const Options& options);
Channel make_raw_uds_channel(const Options& options);

}  // namespace ipc
