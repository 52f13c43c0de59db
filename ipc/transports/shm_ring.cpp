#include "ipc/transports/shm_ring.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/wait.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

// How a message travels (one ring per direction). The ring's data is a sequence of
// chunks; a message is one chunk, or several when it is larger than a quarter of the
// ring or meets the ring's end. A chunk is an 8-byte header word, then its payload:
// right after the header, or, for a chunk of kAlignFrom bytes or more, from the next
// cache line on (copies of 4-64 KiB whose source and destination differ by 1-31 bytes
// modulo 4096 run ~20x slower here: shared/MEASURING.md). The next chunk's header
// follows the payload, rounded up to 8 bytes.
//
// The header is also the only signal. The consumer waits on the header word where the
// next chunk will go: it reads 0 until the producer publishes the chunk by storing its
// header (release), after the payload. Before that store, the producer zeroes the word
// of the header after it, so the consumer never takes a previous lap's bytes for a
// header. A 64-byte ping-pong thus moves two cache lines per direction, fetched in
// parallel (the waiting consumer touches the line after the header's), and no separate
// index line.
//
// Positions are byte counts modulo 2^32 (the capacity is a power of two <= 2^30). The
// consumer's position (`tail`, the header it waits for) is published for the producer,
// which reads it only when the ring looks full.
//
// Header word: bit 63 always set (a header is never 0), bits 34-62 the chunk's number
// modulo 2^29 (checked: a wrong one is a broken ring, not a message), bit 33 "the
// payload starts on the next line", bit 32 "more chunks of this message follow",
// bits 0-31 the payload length.
constexpr std::uint32_t kLine = 64;
constexpr std::uint32_t kWord = 8;
constexpr std::uint32_t kAlignFrom = 1024;
constexpr std::uint64_t kValidBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kAlignedBit = std::uint64_t{1} << 33;
constexpr std::uint64_t kMoreBit = std::uint64_t{1} << 32;
constexpr int kTagShift = 34;
constexpr std::uint64_t kTagMask = (std::uint64_t{1} << 29) - 1;
static_assert(std::endian::native == std::endian::little,
              "the futex word is the header's upper half");

constexpr std::uint32_t round_up(std::uint32_t n, std::uint32_t to) noexcept {
  return (n + to - 1) & ~(to - 1);
}

// Where a chunk's payload starts, given its header's position.
constexpr std::uint32_t payload_start(std::uint32_t header, bool aligned) noexcept {
  return aligned ? round_up(header + kWord, kLine) : header + kWord;
}

struct RingControl {
  // Written by the consumer: the position of the header it reads next.
  alignas(64) std::atomic<std::uint32_t> tail{0};
  // Written by the producer only before it sleeps for space (a futex on `tail`): 1 +
  // the consumer position it waits for; 0 when awake.
  alignas(64) std::atomic<std::uint32_t> producer_waiting{0};
  // Written by the consumer only before it sleeps for a chunk: 1 + the ring offset of
  // the header it sleeps on (a futex on the header's upper half); 0 when awake.
  alignas(64) std::atomic<std::uint32_t> consumer_waiting{0};
  // Written by the consumer when it starts to wait and finds itself on another CPU than
  // last time: 1 + the CPU it waits on (sched_getcpu); 0 until known. The other end
  // reads it to tell whether spinning can help (shares_cpu_with_peer).
  alignas(64) std::atomic<std::uint32_t> consumer_cpu{0};
  alignas(64) std::atomic<std::uint32_t> closed{0};
  // Set (and futex-woken) by a spawned peer once it has mapped the segment.
  std::atomic<std::uint32_t> attached{0};
};
static_assert(sizeof(RingControl) <= kPageSize);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

// Bounded spin of spin-then-futex: about 10-50 us here, less than one futex round trip
// across cores (~80 us, shared/MEASURING.md) but far more than a busy-polled one (0.2 us).
constexpr int kSpinLimit = 4096;
// Spinners yield this often so that a peer on the same core gets to run.
constexpr int kYieldEvery = 256;
// A sleeper re-checks `closed` and its deadline at least this often.
constexpr auto kSleepSlice = std::chrono::milliseconds(100);

// One direction: control block and data, seen from one side.
struct RingView {
  RingControl* control;
  std::byte* data;
  std::uint32_t capacity;  // a power of two, >= kPageSize

  std::uint32_t offset(std::uint32_t pos) const noexcept { return pos & (capacity - 1); }
  std::atomic_ref<std::uint64_t> header(std::uint32_t pos) const noexcept {
    return std::atomic_ref<std::uint64_t>(*reinterpret_cast<std::uint64_t*>(data + offset(pos)));
  }
  // The header's upper half, which is never 0 once published: the consumer's futex.
  std::uint32_t* header_futex(std::uint32_t pos) const noexcept {
    return reinterpret_cast<std::uint32_t*>(data + offset(pos) + 4);
  }
};

class RingTransport final : public Transport {
 public:
  RingTransport(std::shared_ptr<ShmSegment> segment, RingView out, RingView in, WaitStrategy wait,
                std::chrono::milliseconds timeout)
      : segment_(std::move(segment)),
        out_(out),
        in_(in),
        wait_(wait),
        timeout_(timeout),
        max_chunk_(out.capacity / 4) {}

  void send(std::span<const std::byte> message) override {
    // Fast path: a small message that fits, packed, in the space last seen free.
    if (message.size() < kAlignFrom &&
        room(payload_start(head_, false)) >= static_cast<std::int64_t>(message.size())) {
      write_chunk(message, {static_cast<std::uint32_t>(message.size()), false}, false);
      return;
    }
    do {
      const Chunk chunk = next_chunk(message.size());
      write_chunk(message.first(chunk.size), chunk, chunk.size < message.size());
      message = message.subspan(chunk.size);
    } while (!message.empty());
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::size_t total = 0;
    bool fits = true;
    for (bool more = true; more;) {
      const std::uint64_t word = wait_header();
      const auto n = static_cast<std::uint32_t>(word);
      const std::uint32_t start = payload_start(tail_, (word & kAlignedBit) != 0);
      more = (word & kMoreBit) != 0;
      if (fits && n <= buffer.size() - total)
        copy_bytes(buffer.data() + total, in_.data + in_.offset(start), n);
      else
        fits = false;  // read on to the message's end: the ring stays in step
      total += n;
      tail_ = start + round_up(n, kWord);
      ++chunks_in_;
      publish_tail();
    }
    if (!fits)
      throw MessageError("shm-ring: message of " + std::to_string(total) +
                         " bytes does not fit a " + std::to_string(buffer.size()) + "-byte buffer");
    return total;
  }

  void shutdown() noexcept override {
    for (const RingView* r : {&out_, &in_}) {
      RingControl* c = r->control;
      c->closed.store(1, std::memory_order_seq_cst);
      futex_wake(futex_word(c->tail));
      if (std::uint32_t w = c->consumer_waiting.load(std::memory_order_seq_cst); w != 0)
        futex_wake(reinterpret_cast<std::uint32_t*>(r->data + (w - 1) + 4));
    }
  }

 private:
  struct Chunk {
    std::uint32_t size;
    bool aligned;
  };

  // The next chunk of a message with `left` bytes to go, once there is room for it: all
  // of it, or as much as fits before the ring's end, or (waiting until then) at least a
  // quarter of max_chunk_ of free space.
  Chunk next_chunk(std::size_t left) {
    const auto want = static_cast<std::uint32_t>(std::min<std::size_t>(left, max_chunk_));
    const std::uint32_t enough = std::min(want, max_chunk_ / 4);
    const bool aligned = want >= kAlignFrom;
    for (bool refreshed = false;; refreshed = true) {
      const std::uint32_t start = payload_start(head_, aligned);
      const std::int64_t free = room(start);
      const auto n = static_cast<std::uint32_t>(std::min<std::int64_t>(want, free));
      if (free >= 0 && (n >= enough || n == to_end(start))) return {n, aligned};
      if (refreshed) {
        wait_for_space();
      } else {
        tail_cache_ = out_.control->tail.load(std::memory_order_acquire);
      }
    }
  }

  // Payload bytes from `start` to the ring's end.
  std::uint32_t to_end(std::uint32_t start) const noexcept {
    return out_.capacity - out_.offset(start);
  }

  // How many payload bytes from `start` on are free, up to the ring's end, with the
  // word of the next header after them; -1 if not even that word is free.
  std::int64_t room(std::uint32_t start) const noexcept {
    const std::uint32_t used = start - tail_cache_;  // from the consumer's header on
    if (used > out_.capacity - kWord) return -1;
    return std::min(out_.capacity - kWord - used, to_end(start));
  }

  void write_chunk(std::span<const std::byte> payload, Chunk chunk, bool more) noexcept {
    const std::uint32_t start = payload_start(head_, chunk.aligned);
    const std::uint32_t next = start + round_up(chunk.size, kWord);
    copy_bytes(out_.data + out_.offset(start), payload.data(), chunk.size);
    out_.header(next).store(0, std::memory_order_relaxed);  // ordered by the release below
    const std::uint64_t word = kValidBit | ((chunks_out_ & kTagMask) << kTagShift) |
                               (chunk.aligned ? kAlignedBit : 0) | (more ? kMoreBit : 0) |
                               chunk.size;
    if (wait_ == WaitStrategy::kSpin) {
      out_.header(head_).store(word, std::memory_order_release);
    } else {
      // Dekker with the consumer's sleep: either we see its flag, or it sees the header.
      out_.header(head_).store(word, std::memory_order_seq_cst);
      if (take_flag(out_.control->consumer_waiting, out_.offset(head_) + 1))
        futex_wake(out_.header_futex(head_));
    }
    head_ = next;
    ++chunks_out_;
  }

  // The header of the next chunk, once published; throws if it is not a header.
  std::uint64_t wait_header() {
    const std::atomic_ref<std::uint64_t> header = in_.header(tail_);
    std::uint64_t word = header.load(std::memory_order_acquire);
    if (word == 0) word = wait_header_slow(header);
    if (((word >> kTagShift) & kTagMask) != (chunks_in_ & kTagMask) || (word & kValidBit) == 0)
      throw MessageError("shm-ring: broken ring: header " + std::to_string(word) + " where chunk " +
                         std::to_string(chunks_in_) + " should be");
    return word;
  }

  std::uint64_t wait_header_slow(const std::atomic_ref<std::uint64_t>& header) {
    // Touching the line after the header's while waiting brings it over together with
    // the header's line, instead of after it: a small chunk's payload.
    return wait_for(
        [&]() -> std::optional<std::uint64_t> {
          const std::uint64_t word = header.load(std::memory_order_acquire);
          if (word == 0) return std::nullopt;
          return word;
        },
        in_.control->closed, in_.control->consumer_waiting, in_.offset(tail_) + 1,
        in_.header_futex(tail_), in_.data + in_.offset(round_up(tail_ + 1, kLine)));
  }

  // Waits until the consumer has freed half the ring (rather than a chunk's worth, so
  // that a full ring does not cost a wake-up per message).
  void wait_for_space() {
    RingControl* c = out_.control;
    const std::uint32_t needed = head_ - out_.capacity / 2;
    tail_cache_ = wait_for(
        [&]() -> std::optional<std::uint32_t> {
          const std::uint32_t tail = c->tail.load(std::memory_order_acquire);
          if (static_cast<std::int32_t>(tail - needed) < 0) return std::nullopt;
          return tail;
        },
        c->closed, c->producer_waiting, needed + 1, futex_word(c->tail), nullptr);
  }

  // Publishes the consumer's position; wakes a producer sleeping for space.
  void publish_tail() noexcept {
    RingControl* c = in_.control;
    if (wait_ == WaitStrategy::kSpin) {
      c->tail.store(tail_, std::memory_order_release);
      return;
    }
    c->tail.store(tail_, std::memory_order_seq_cst);
    const std::uint32_t waiting = c->producer_waiting.load(std::memory_order_seq_cst);
    if (waiting != 0 && static_cast<std::int32_t>(tail_ - (waiting - 1)) >= 0 &&
        take_flag(c->producer_waiting, waiting))
      futex_wake(futex_word(c->tail));
  }

  // Polls until `poll` returns a value, and returns it: spinning (kSpin yields every
  // kYieldEvery polls; kSpinThenFutex gives up after kSpinLimit), then asleep in
  // futex(2) on `futex` with `waiting` set to `flag`, so that the other side wakes us.
  // `touch`, if not null, is prefetched while spinning. Throws ClosedError once the
  // channel is closed, TimeoutError after the timeout.
  template <typename Poll>
  auto wait_for(const Poll& poll, const std::atomic<std::uint32_t>& closed,
                std::atomic<std::uint32_t>& waiting, std::uint32_t flag, std::uint32_t* futex,
                const std::byte* touch) -> typename std::invoke_result_t<Poll>::value_type {
    LazyDeadline deadline(timeout_);
    if (wait_ == WaitStrategy::kSpin ||
        (wait_ == WaitStrategy::kSpinThenFutex && !shares_cpu_with_peer())) {
      for (int i = 1;; ++i) {
        if (auto value = poll()) return *value;
        if (wait_ == WaitStrategy::kSpinThenFutex && i >= kSpinLimit) break;
        if (touch != nullptr) __builtin_prefetch(touch);
        cpu_relax();
        if (i % kYieldEvery == 0) {
          check(closed, &deadline);
          ::sched_yield();
        }
      }
    }
    // Dekker with the other side's store then look at `waiting`: either it sees our
    // flag, or the seq_cst load below sees its store (and then so does poll()).
    // The clock is read only after a sleep: the other side's wake-up comes sooner than
    // that, most of the time. The waker takes our flag down (take_flag) so that only
    // one of its stores pays for a wake-up; we put it up again before each sleep.
    for (bool slept = false;; slept = true) {
      waiting.store(flag, std::memory_order_seq_cst);
      const std::uint32_t seen =
          std::atomic_ref<std::uint32_t>(*futex).load(std::memory_order_seq_cst);
      if (auto value = poll()) {
        waiting.store(0, std::memory_order_relaxed);
        return *value;
      }
      try {
        check(closed, slept ? &deadline : nullptr);
      } catch (...) {
        waiting.store(0, std::memory_order_relaxed);
        throw;
      }
      futex_wait(futex, seen, deadline.left(kSleepSlice));
    }
  }

  // Whether the other end last waited on the CPU we run on: then it cannot be running
  // while we spin (it is asleep, or waits for this CPU), so spinning only delays it and
  // the adaptive wait sleeps at once. Both ends pinned to one CPU, or a machine or
  // affinity mask of one CPU, always say so; ends on two CPUs never do. Publishes our own
  // CPU for the other end (a store only when it changed: the line stays shared).
  // sched_getcpu reads the kernel's rseq area here: a few nanoseconds.
  bool shares_cpu_with_peer() noexcept {
    const int cpu = ::sched_getcpu();
    if (cpu < 0) return false;
    const auto mine = static_cast<std::uint32_t>(cpu) + 1;
    if (mine != my_cpu_.load(std::memory_order_relaxed)) {
      my_cpu_.store(mine, std::memory_order_relaxed);
      in_.control->consumer_cpu.store(mine, std::memory_order_relaxed);
    }
    return out_.control->consumer_cpu.load(std::memory_order_relaxed) == mine;
  }

  // The waker's side of a sleeper's flag: true if it says `flag` (the wait this store
  // ends), and then takes it down. A flag of a later wait stays up: taking it would lose
  // that wait's wake-up. The plain load first keeps the line shared while nobody sleeps.
  static bool take_flag(std::atomic<std::uint32_t>& waiting, std::uint32_t flag) noexcept {
    return waiting.load(std::memory_order_seq_cst) == flag &&
           waiting.compare_exchange_strong(flag, 0, std::memory_order_seq_cst);
  }

  // Throws if the channel is closed, or if `deadline` (when given) has passed.
  void check(const std::atomic<std::uint32_t>& closed, LazyDeadline* deadline) const {
    // seq_cst: Dekker with shutdown(), which stores `closed`, then looks for a sleeper.
    if (closed.load(std::memory_order_seq_cst) != 0) throw ClosedError("shm-ring: channel closed");
    if (deadline != nullptr && deadline->passed())
      throw TimeoutError("shm-ring: no progress from the peer within " +
                         std::to_string(timeout_.count()) + " ms");
  }

  std::shared_ptr<ShmSegment> segment_;
  RingView out_;
  RingView in_;
  WaitStrategy wait_;
  std::chrono::milliseconds timeout_;
  std::uint32_t max_chunk_;
  std::uint32_t head_ = 0;        // producer: where the next header goes
  std::uint32_t tail_cache_ = 0;  // producer: the consumer's position, last seen
  std::uint64_t chunks_out_ = 0;
  std::uint32_t tail_ = 0;  // consumer: the header it reads next
  std::uint64_t chunks_in_ = 0;
  // 1 + the CPU we last published in consumer_cpu; 0: none. Atomic: the send side and the
  // receive side may wait (and publish) from two threads at once.
  std::atomic<std::uint32_t> my_cpu_{0};
};
// Layout: control a->b | control b->a | data a->b | data b->a, each page-aligned.
struct RingLayout {
  RingView a_to_b;
  RingView b_to_a;
};

std::size_t segment_size(std::uint32_t capacity) {
  return 2 * kPageSize + 2 * std::size_t{capacity};
}

RingLayout layout(void* data, std::uint32_t capacity, bool construct) {
  auto* base = static_cast<std::byte*>(data);
  auto* ab = construct ? new (base) RingControl : reinterpret_cast<RingControl*>(base);
  auto* ba = construct ? new (base + kPageSize) RingControl
                       : reinterpret_cast<RingControl*>(base + kPageSize);
  return {{ab, base + 2 * kPageSize, capacity}, {ba, base + 2 * kPageSize + capacity, capacity}};
}

std::uint32_t capacity_for(const Options& options) {
  std::size_t want = std::clamp<std::size_t>(options.buffer_bytes, kPageSize, 1u << 30);
  return static_cast<std::uint32_t>(std::bit_ceil(want));
}

class RingListener final : public Listener {
 public:
  RingListener(const Options& options, WaitStrategy wait) : wait_(wait), timeout_(options.timeout) {
    std::uint32_t capacity = capacity_for(options);
    segment_ =
        std::make_shared<ShmSegment>(ShmSegment::create(unique_shm_name(), segment_size(capacity)));
    rings_ = layout(segment_->data(), capacity, true);
  }

  std::string address() const override { return segment_->name(); }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "shm-ring " + segment_->name();
    std::atomic<std::uint32_t>& attached = rings_.a_to_b.control->attached;
    const auto deadline = Clock::now() + timeout;
    // The peer wakes us; the slices only bound how late we notice that it died.
    while (attached.load(std::memory_order_acquire) == 0) {
      check_peer_alive(abort_fd, what);
      auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero())
        throw TimeoutError(what + ": the peer did not open its end within " +
                           std::to_string(timeout.count()) + " ms");
      futex_wait(futex_word(attached), 0,
                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::min<Clock::duration>(left, std::chrono::milliseconds(10))));
    }
    segment_->unlink();
    return std::make_unique<RingTransport>(segment_, rings_.a_to_b, rings_.b_to_a, wait_, timeout_);
  }

 private:
  WaitStrategy wait_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<ShmSegment> segment_;
  RingLayout rings_{};
};

}  // namespace

Channel make_shm_ring_channel(const Options& options, WaitStrategy wait) {
  std::uint32_t capacity = capacity_for(options);
  auto segment =
      std::make_shared<ShmSegment>(ShmSegment::create(unique_shm_name(), segment_size(capacity)));
  // Forked peers inherit the mapping, so the name can go now: nothing is left behind.
  segment->unlink();
  RingLayout rings = layout(segment->data(), capacity, true);
  return {
      std::make_unique<RingTransport>(segment, rings.a_to_b, rings.b_to_a, wait, options.timeout),
      std::make_unique<RingTransport>(segment, rings.b_to_a, rings.a_to_b, wait, options.timeout)};
}

std::unique_ptr<Listener> listen_shm_ring(const Options& options, WaitStrategy wait) {
  return std::make_unique<RingListener>(options, wait);
}

std::unique_ptr<Transport> connect_shm_ring(const std::string& address, const Options& options,
                                            WaitStrategy wait) {
  auto segment = std::make_shared<ShmSegment>(ShmSegment::open(address));
  std::size_t size = segment->size();
  std::size_t capacity = size > 2 * kPageSize ? (size - 2 * kPageSize) / 2 : 0;
  if (capacity < kPageSize || !std::has_single_bit(capacity) ||
      segment_size(static_cast<std::uint32_t>(capacity)) != size)
    throw std::runtime_error("shm-ring " + address + ": not a ring segment (" +
                             std::to_string(size) + " bytes)");
  RingLayout rings = layout(segment->data(), static_cast<std::uint32_t>(capacity), false);
  auto end =
      std::make_unique<RingTransport>(segment, rings.b_to_a, rings.a_to_b, wait, options.timeout);
  std::atomic<std::uint32_t>& attached = rings.a_to_b.control->attached;
  attached.store(1, std::memory_order_release);
  futex_wake(futex_word(attached));
  return end;
}

}  // namespace ipc
