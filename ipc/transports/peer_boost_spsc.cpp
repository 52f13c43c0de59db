#include "ipc/transports/peer_boost_spsc.hpp"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <boost/lockfree/spsc_queue.hpp>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/wait.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"

namespace ipc {
namespace {

// 256 KiB a direction, as Options::buffer_bytes gives the other shared-memory rings.
constexpr std::size_t kCapacity = 256 * 1024;
using Queue = boost::lockfree::spsc_queue<std::byte, boost::lockfree::capacity<kCapacity>>;

// Inline storage and two atomic indexes, nothing that points anywhere: safe to place in
// a shared mapping and use from two processes after fork, as long as its atomics are
// lock-free (address-free).
static_assert(std::atomic<std::size_t>::is_always_lock_free);

struct Shared {
  Queue a_to_b;
  Queue b_to_a;
  alignas(64) std::atomic<std::uint32_t> closed{0};
};

// A message up to this size goes into the queue with its prefix in one push (one index
// store), from a copy; a larger one as a push of the prefix and pushes of its bytes.
constexpr std::size_t kSmall = 1024;
constexpr std::uint32_t kYieldEvery = 256;

class BoostSpscTransport final : public Transport {
 public:
  BoostSpscTransport(std::shared_ptr<ShmSegment> segment, Shared* shared, Queue* out, Queue* in,
                     std::chrono::milliseconds timeout)
      : segment_(std::move(segment)),
        shared_(shared),
        out_(out),
        in_(in),
        timeout_(timeout),
        staging_(sizeof(std::uint64_t) + kSmall) {}

  void send(std::span<const std::byte> message) override {
    const std::uint64_t len = message.size();
    if (message.size() <= kSmall) {
      std::memcpy(staging_.data(), &len, sizeof len);
      if (!message.empty())  // an empty span's data() may be null, which memcpy must not get
        std::memcpy(staging_.data() + sizeof len, message.data(), message.size());
      push_all({staging_.data(), sizeof len + message.size()});
      return;
    }
    push_all(std::as_bytes(std::span(&len, 1)));
    push_all(message);
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::uint64_t len = 0;
    pop_all(std::as_writable_bytes(std::span(&len, 1)));
    if (len > buffer.size()) {
      // Read on to the message's end, so the queue stays in step.
      std::byte sink[256];
      for (std::uint64_t left = len; left > 0;) {
        const std::size_t part = std::min<std::uint64_t>(left, sizeof sink);
        pop_all({sink, part});
        left -= part;
      }
      throw MessageError("peer-boost-spsc: message of " + std::to_string(len) +
                         " bytes does not fit a " + std::to_string(buffer.size()) + "-byte buffer");
    }
    pop_all(buffer.first(len));
    return len;
  }

  void shutdown() noexcept override { shared_->closed.store(1, std::memory_order_release); }

 private:
  // Pushes all of `data`, busy-polling while the queue is full.
  void push_all(std::span<const std::byte> data) {
    std::uint32_t polls = 0;
    LazyDeadline deadline(timeout_);
    while (!data.empty()) {
      const std::size_t n = out_->push(data.data(), data.size());
      data = data.subspan(n);
      if (n == 0) idle(polls, deadline);
    }
  }

  // Pops exactly data.size() bytes, busy-polling while the queue is empty.
  void pop_all(std::span<std::byte> data) {
    std::uint32_t polls = 0;
    LazyDeadline deadline(timeout_);
    while (!data.empty()) {
      const std::size_t n = in_->pop(data.data(), data.size());
      data = data.subspan(n);
      if (n == 0) idle(polls, deadline);
    }
  }

  void idle(std::uint32_t& polls, LazyDeadline& deadline) {
    cpu_relax();
    if (++polls % kYieldEvery != 0) return;
    if (shared_->closed.load(std::memory_order_acquire) != 0)
      throw ClosedError("peer-boost-spsc: channel closed");
    if (deadline.passed())
      throw TimeoutError("peer-boost-spsc: no progress from the peer within " +
                         std::to_string(timeout_.count()) + " ms");
    ::sched_yield();
  }

  std::shared_ptr<ShmSegment> segment_;
  Shared* shared_;
  Queue* out_;
  Queue* in_;
  std::chrono::milliseconds timeout_;
  AlignedBuffer staging_;
};

}  // namespace

Channel make_peer_boost_spsc_channel(const Options& options) {
  const std::size_t size = (sizeof(Shared) + kPageSize - 1) / kPageSize * kPageSize;
  auto segment = std::make_shared<ShmSegment>(ShmSegment::create(unique_shm_name(), size));
  segment->unlink();  // forked peers inherit the mapping: nothing is left behind
  auto* shared = new (segment->data()) Shared;
  return {std::make_unique<BoostSpscTransport>(segment, shared, &shared->a_to_b, &shared->b_to_a,
                                               options.timeout),
          std::make_unique<BoostSpscTransport>(segment, shared, &shared->b_to_a, &shared->a_to_b,
                                               options.timeout)};
}

}  // namespace ipc
