#include "ipc/transports/shm_mpmc.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <climits>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "ipc/core/error.hpp"
#include "ipc/core/wait.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"

namespace ipc {
namespace {

constexpr std::size_t kLine = 64;
constexpr int kSpins = 200;  // polls before registering as a sleeper (~2-5 us)

void futex_wake_n(std::atomic<std::uint32_t>& word, int n) noexcept {
  ::syscall(SYS_futex, futex_word(word), FUTEX_WAKE, n, nullptr, nullptr, 0);
}

// One direction's sleepers: the word they sleep on and how many are registered.
struct alignas(kLine) Event {
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint32_t> waiters{0};

  // After the queue changed (a seq_cst store of a slot's number): wake one registered
  // sleeper, if any. Both sides' accesses are seq_cst (no fences: TSan cannot check
  // those), so either the waiter sees the change or we see it registered.
  void notify_one() noexcept {
    if (waiters.load(std::memory_order_seq_cst) == 0) return;
    word.fetch_add(1, std::memory_order_release);
    futex_wake_n(word, 1);
  }
  void notify_all() noexcept {
    word.fetch_add(1, std::memory_order_release);
    futex_wake_n(word, INT_MAX);
  }
};

struct alignas(kLine) Header {
  std::atomic<std::uint64_t> enqueue_pos{0};
  alignas(kLine) std::atomic<std::uint64_t> dequeue_pos{0};
  alignas(kLine) std::atomic<std::uint32_t> closed{0};
  std::uint64_t slots = 0;
  std::uint64_t slot_bytes = 0;  // stride, header included
  std::uint64_t max_message = 0;
  Event not_empty;
  Event not_full;
};

struct SlotHead {
  std::atomic<std::uint64_t> seq;
  std::uint32_t size;
};
constexpr std::size_t kSlotHead = 16;

class ShmMpmcQueue final : public SharedQueue {
 public:
  ShmMpmcQueue(const Options& options, std::size_t max_message, std::size_t slots)
      : timeout_(options.timeout),
        segment_(ShmSegment::create(unique_shm_name(),
                                    sizeof(Header) + slots * stride_for(max_message))) {
    segment_.unlink();  // reached through the inherited mapping only: nothing left behind
    header_ = new (segment_.data()) Header();
    header_->slots = slots;
    header_->slot_bytes = stride_for(max_message);
    header_->max_message = max_message;
    base_ = static_cast<std::byte*>(segment_.data()) + sizeof(Header);
    mask_ = slots - 1;
    stride_ = header_->slot_bytes;
    for (std::size_t i = 0; i < slots; ++i) new (slot(i)) SlotHead{.seq = i, .size = 0};
  }

  void put(std::span<const std::byte> message) override {
    if (message.size() > header_->max_message)
      throw MessageError("shm-mpmc: message of " + std::to_string(message.size()) +
                         " bytes is larger than its slots (" +
                         std::to_string(header_->max_message) + ")");
    std::atomic<std::uint64_t>& pos_word = header_->enqueue_pos;
    std::uint64_t pos = pos_word.load(std::memory_order_relaxed);
    LazyDeadline deadline(timeout_);
    for (;;) {
      check_open();
      SlotHead* s = slot(pos & mask_);
      const std::uint64_t seq = s->seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        if (pos_word.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          s->size = static_cast<std::uint32_t>(message.size());
          if (!message.empty())
            std::memcpy(reinterpret_cast<std::byte*>(s) + kSlotHead, message.data(),
                        message.size());
          s->seq.store(pos + 1, std::memory_order_seq_cst);
          header_->not_empty.notify_one();
          return;
        }
      } else if (diff < 0) {  // full: the slot still holds the message of the last lap
        wait(header_->not_full, deadline, "put", [&] {
          return static_cast<std::int64_t>(s->seq.load(std::memory_order_seq_cst) - pos) >= 0;
        });
        pos = pos_word.load(std::memory_order_relaxed);
      } else {
        pos = pos_word.load(std::memory_order_relaxed);
      }
    }
  }

  std::size_t get(std::span<std::byte> buffer) override {
    std::atomic<std::uint64_t>& pos_word = header_->dequeue_pos;
    std::uint64_t pos = pos_word.load(std::memory_order_relaxed);
    LazyDeadline deadline(timeout_);
    for (;;) {
      check_open();
      SlotHead* s = slot(pos & mask_);
      const std::uint64_t seq = s->seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - (pos + 1));
      if (diff == 0) {
        if (pos_word.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          const std::size_t n = s->size;
          const bool fits = n <= buffer.size();
          if (fits && n != 0)
            std::memcpy(buffer.data(), reinterpret_cast<const std::byte*>(s) + kSlotHead, n);
          s->seq.store(pos + mask_ + 1, std::memory_order_seq_cst);
          header_->not_full.notify_one();
          if (!fits)
            throw MessageError("shm-mpmc: message of " + std::to_string(n) +
                               " bytes does not fit a " + std::to_string(buffer.size()) +
                               "-byte buffer");
          return n;
        }
      } else if (diff < 0) {  // empty
        wait(header_->not_empty, deadline, "get", [&] {
          return static_cast<std::int64_t>(s->seq.load(std::memory_order_seq_cst) - (pos + 1)) >= 0;
        });
        pos = pos_word.load(std::memory_order_relaxed);
      } else {
        pos = pos_word.load(std::memory_order_relaxed);
      }
    }
  }

  void close() noexcept override {
    header_->closed.store(1, std::memory_order_seq_cst);
    header_->not_empty.notify_all();
    header_->not_full.notify_all();
  }

 private:
  static std::size_t stride_for(std::size_t max_message) {
    return (kSlotHead + max_message + kLine - 1) / kLine * kLine;
  }

  SlotHead* slot(std::uint64_t i) const noexcept {
    return reinterpret_cast<SlotHead*>(base_ + i * stride_);
  }

  void check_open() const {
    if (header_->closed.load(std::memory_order_acquire) != 0)
      throw ClosedError("shm-mpmc: queue closed");
  }

  // Until ready() (or closed): spin a little, then sleep on the event. Throws
  // TimeoutError when the deadline passes without ready().
  template <typename Ready>
  void wait(Event& event, LazyDeadline& deadline, const char* what, Ready&& ready) {
    for (int i = 0; i < kSpins; ++i) {
      if (ready() || header_->closed.load(std::memory_order_relaxed) != 0) return;
      cpu_relax();
    }
    deadline.passed();  // starts its clock
    for (;;) {
      const std::uint32_t seen = event.word.load(std::memory_order_acquire);
      event.waiters.fetch_add(1, std::memory_order_seq_cst);
      const bool go = ready() || header_->closed.load(std::memory_order_seq_cst) != 0;
      if (!go) futex_wait(futex_word(event.word), seen, deadline.left(timeout_));
      event.waiters.fetch_sub(1, std::memory_order_relaxed);
      if (go || ready() || header_->closed.load(std::memory_order_acquire) != 0) return;
      if (deadline.passed())
        throw TimeoutError(std::string("shm-mpmc: ") + what + " made no progress within " +
                           std::to_string(timeout_.count()) + " ms");
    }
  }

  std::chrono::milliseconds timeout_;
  ShmSegment segment_;
  Header* header_ = nullptr;
  std::byte* base_ = nullptr;
  std::uint64_t mask_ = 0;
  std::size_t stride_ = 0;
};

}  // namespace

std::unique_ptr<SharedQueue> make_shm_mpmc_queue_with_slots(const Options& options,
                                                            std::size_t max_message,
                                                            std::size_t slots) {
  if (slots < 2 || !std::has_single_bit(slots))
    throw std::invalid_argument("shm-mpmc: slots must be a power of two >= 2");
  if (max_message > (std::size_t{1} << 30))
    throw std::invalid_argument("shm-mpmc: messages of at most 1 GiB");
  return std::make_unique<ShmMpmcQueue>(options, max_message, slots);
}

std::unique_ptr<SharedQueue> make_shm_mpmc_queue(const Options& options, std::size_t max_message) {
  const std::size_t stride = (kSlotHead + max_message + kLine - 1) / kLine * kLine;
  std::size_t slots = std::bit_ceil(std::max<std::size_t>(options.buffer_bytes / stride, 1));
  slots = std::clamp<std::size_t>(slots, 64, 65536);
  return make_shm_mpmc_queue_with_slots(options, max_message, slots);
}

}  // namespace ipc
