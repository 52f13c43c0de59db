#include "ipc/shm_ring_transport.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

#include "ipc/buffer.hpp"
#include "ipc/error.hpp"
#include "ipc/listener.hpp"
#include "ipc/names.hpp"
#include "ipc/shm_segment.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

// Positions are byte counts modulo 2^32; the ring holds at most 2^31 bytes, so
// head - tail is always the number of unread bytes.
struct RingControl {
  // Written by the producer; consumer_waiting shares its line because the producer
  // reads it after every publish and the consumer writes it only before sleeping.
  alignas(64) std::atomic<std::uint32_t> head{0};
  std::atomic<std::uint32_t> consumer_waiting{0};
  alignas(64) std::atomic<std::uint32_t> tail{0};
  std::atomic<std::uint32_t> producer_waiting{0};
  alignas(64) std::atomic<std::uint32_t> closed{0};
  // Set (and futex-woken) by a spawned peer once it has mapped the segment.
  std::atomic<std::uint32_t> attached{0};
};
static_assert(sizeof(RingControl) <= kPageSize);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

// Bounded spin of spin-then-futex: about 10-50 us here, less than one futex round trip
// across cores (~80 us, shared/MEASURING.md) but far more than a busy-polled one (0.2 us).
constexpr int kSpinLimit = 4096;
// Spinners yield this often so that a peer on the same core gets to run.
constexpr int kYieldEvery = 256;
// A sleeper re-checks `closed` and its deadline at least this often.
constexpr auto kSleepSlice = std::chrono::milliseconds(100);

void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                std::chrono::nanoseconds timeout) noexcept {
  timespec ts{static_cast<time_t>(timeout.count() / 1'000'000'000),
              static_cast<long>(timeout.count() % 1'000'000'000)};
  // Shared (not _PRIVATE): the word lives in a mapping shared across processes.
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, seen, &ts,
            nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>& word) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE, INT32_MAX,
            nullptr, nullptr, 0);
}

// One direction: control block and data, seen from one side.
struct RingView {
  RingControl* control;
  std::byte* data;
  std::uint32_t capacity;  // a power of two
};

class RingTransport final : public Transport {
 public:
  RingTransport(std::shared_ptr<ShmSegment> segment, RingView out, RingView in,
                WaitStrategy wait, std::chrono::milliseconds timeout)
      : segment_(std::move(segment)), out_(out), in_(in), wait_(wait), timeout_(timeout) {}

  void send(std::span<const std::byte> message) override {
    std::uint64_t len = message.size();
    write_bytes(std::as_bytes(std::span(&len, 1)));
    write_bytes(message);
    publish_head();
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::uint64_t len;
    read_bytes(std::as_writable_bytes(std::span(&len, 1)));
    if (len > buffer.size())
      throw MessageError("shm-ring: message of " + std::to_string(len) +
                         " bytes does not fit a " + std::to_string(buffer.size()) +
                         "-byte buffer");
    read_bytes(buffer.first(len));
    publish_tail();
    return len;
  }

  void shutdown() noexcept override {
    for (RingControl* c : {out_.control, in_.control}) {
      c->closed.store(1, std::memory_order_seq_cst);
      futex_wake(c->head);
      futex_wake(c->tail);
    }
  }

 private:
  void write_bytes(std::span<const std::byte> src) {
    while (!src.empty()) {
      std::uint32_t free = out_.capacity - (head_ - tail_cache_);
      if (free == 0) {
        tail_cache_ = out_.control->tail.load(std::memory_order_acquire);
        free = out_.capacity - (head_ - tail_cache_);
        if (free == 0) {
          publish_head();  // the consumer may be waiting for what we have so far
          wait_change(out_.control->tail, tail_cache_, out_.control->producer_waiting,
                      out_.control->closed);
          continue;
        }
      }
      std::size_t n = std::min<std::size_t>(free, src.size());
      copy_in(src.first(n));
      head_ += static_cast<std::uint32_t>(n);
      src = src.subspan(n);
    }
  }

  void read_bytes(std::span<std::byte> dst) {
    while (!dst.empty()) {
      std::uint32_t avail = head_cache_ - tail_;
      if (avail == 0) {
        head_cache_ = in_.control->head.load(std::memory_order_acquire);
        avail = head_cache_ - tail_;
        if (avail == 0) {
          publish_tail();  // the producer may be waiting for the space we freed
          wait_change(in_.control->head, head_cache_, in_.control->consumer_waiting,
                      in_.control->closed);
          continue;
        }
      }
      std::size_t n = std::min<std::size_t>(avail, dst.size());
      copy_out(dst.first(n));
      tail_ += static_cast<std::uint32_t>(n);
      dst = dst.subspan(n);
    }
  }

  void copy_in(std::span<const std::byte> src) noexcept {
    std::uint32_t pos = head_ & (out_.capacity - 1);
    std::size_t first = std::min<std::size_t>(src.size(), out_.capacity - pos);
    std::memcpy(out_.data + pos, src.data(), first);
    std::memcpy(out_.data, src.data() + first, src.size() - first);
  }

  void copy_out(std::span<std::byte> dst) noexcept {
    std::uint32_t pos = tail_ & (in_.capacity - 1);
    std::size_t first = std::min<std::size_t>(dst.size(), in_.capacity - pos);
    std::memcpy(dst.data(), in_.data + pos, first);
    std::memcpy(dst.data() + first, in_.data, dst.size() - first);
  }

  // The seq_cst store then load pairs with the waiter's seq_cst store of its flag then
  // load of the word (Dekker): either we see the flag, or the waiter sees our value.
  void publish_head() noexcept {
    RingControl* c = out_.control;
    if (c->head.load(std::memory_order_relaxed) == head_) return;
    c->head.store(head_, std::memory_order_seq_cst);
    if (c->consumer_waiting.load(std::memory_order_seq_cst) != 0) futex_wake(c->head);
  }

  void publish_tail() noexcept {
    RingControl* c = in_.control;
    if (c->tail.load(std::memory_order_relaxed) == tail_) return;
    c->tail.store(tail_, std::memory_order_seq_cst);
    if (c->producer_waiting.load(std::memory_order_seq_cst) != 0) futex_wake(c->tail);
  }

  // Returns once `word` differs from `seen`; throws on close or after the timeout.
  void wait_change(std::atomic<std::uint32_t>& word, std::uint32_t seen,
                   std::atomic<std::uint32_t>& waiting, std::atomic<std::uint32_t>& closed) {
    const auto deadline = Clock::now() + timeout_;
    if (wait_ != WaitStrategy::kFutex) {
      for (int i = 1;; ++i) {
        if (word.load(std::memory_order_acquire) != seen) return;
        if (wait_ == WaitStrategy::kSpinThenFutex && i >= kSpinLimit) break;
        cpu_relax();
        if (i % kYieldEvery == 0) {
          check(closed, deadline);
          ::sched_yield();
        }
      }
    }
    waiting.store(1, std::memory_order_seq_cst);
    while (word.load(std::memory_order_seq_cst) == seen) {
      try {
        check(closed, deadline);
      } catch (...) {
        waiting.store(0, std::memory_order_relaxed);
        throw;
      }
      auto left = std::min<Clock::duration>(deadline - Clock::now(), kSleepSlice);
      futex_wait(word, seen, std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    }
    waiting.store(0, std::memory_order_relaxed);
  }

  void check(const std::atomic<std::uint32_t>& closed, Clock::time_point deadline) const {
    if (closed.load(std::memory_order_acquire) != 0)
      throw ClosedError("shm-ring: channel closed");
    if (Clock::now() >= deadline)
      throw TimeoutError("shm-ring: no progress from the peer within " +
                         std::to_string(timeout_.count()) + " ms");
  }

  std::shared_ptr<ShmSegment> segment_;
  RingView out_;
  RingView in_;
  WaitStrategy wait_;
  std::chrono::milliseconds timeout_;
  std::uint32_t head_ = 0;        // producer: bytes written, not all published
  std::uint32_t tail_cache_ = 0;  // producer: last tail seen
  std::uint32_t tail_ = 0;        // consumer: bytes read, not all published
  std::uint32_t head_cache_ = 0;  // consumer: last head seen
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
  return {{ab, base + 2 * kPageSize, capacity},
          {ba, base + 2 * kPageSize + capacity, capacity}};
}

std::uint32_t capacity_for(const Options& options) {
  std::size_t want = std::clamp<std::size_t>(options.buffer_bytes, kPageSize, 1u << 30);
  return static_cast<std::uint32_t>(std::bit_ceil(want));
}

class RingListener final : public Listener {
 public:
  RingListener(const Options& options, WaitStrategy wait)
      : wait_(wait), timeout_(options.timeout) {
    std::uint32_t capacity = capacity_for(options);
    segment_ = std::make_shared<ShmSegment>(
        ShmSegment::create(unique_shm_name(), segment_size(capacity)));
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
      futex_wait(attached, 0,
                 std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::min<Clock::duration>(left, std::chrono::milliseconds(10))));
    }
    segment_->unlink();
    return std::make_unique<RingTransport>(segment_, rings_.a_to_b, rings_.b_to_a, wait_,
                                           timeout_);
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
  auto segment = std::make_shared<ShmSegment>(
      ShmSegment::create(unique_shm_name(), segment_size(capacity)));
  // Forked peers inherit the mapping, so the name can go now: nothing is left behind.
  segment->unlink();
  RingLayout rings = layout(segment->data(), capacity, true);
  return {std::make_unique<RingTransport>(segment, rings.a_to_b, rings.b_to_a, wait,
                                          options.timeout),
          std::make_unique<RingTransport>(segment, rings.b_to_a, rings.a_to_b, wait,
                                          options.timeout)};
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
  auto end = std::make_unique<RingTransport>(segment, rings.b_to_a, rings.a_to_b, wait,
                                             options.timeout);
  std::atomic<std::uint32_t>& attached = rings.a_to_b.control->attached;
  attached.store(1, std::memory_order_release);
  futex_wake(attached);
  return end;
}

}  // namespace ipc
