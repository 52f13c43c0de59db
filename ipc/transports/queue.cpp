#include "ipc/transports/queue.hpp"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/plant.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

// What Python's Queue.Queue is to threads: a deque under a mutex with two condition
// variables. Message buffers are recycled so a steady stream does not allocate.
class MessageQueue {
 public:
  MessageQueue(std::size_t max_bytes, std::chrono::milliseconds timeout)
      : max_bytes_(max_bytes), timeout_(timeout) {}

  void push(std::span<const std::byte> message) {
    std::unique_lock lock(mu_);
    if (closed_) throw ClosedError("queue: channel closed");
    wait(
        lock, not_full_, [&] { return bytes_ == 0 || bytes_ + message.size() <= max_bytes_; },
        "send");
    std::vector<std::byte> item;
    if (!spare_.empty()) {
      item = std::move(spare_.back());
      spare_.pop_back();
    }
    item.assign(message.begin(), message.end());
    bytes_ += item.size();
    items_.push_back(std::move(item));
    lock.unlock();
    not_empty_.notify_one();
  }

  std::size_t pop(std::span<std::byte> buffer) {
    std::unique_lock lock(mu_);
    wait(
        lock, not_empty_, [&] { return !items_.empty(); }, "receive");
    std::vector<std::byte>& item = items_.front();
    std::size_t n = item.size();
    if (n > buffer.size())
      throw MessageError("queue: message of " + std::to_string(n) + " bytes does not fit a " +
                         std::to_string(buffer.size()) + "-byte buffer");
    copy_bytes(buffer.data(), item.data(), n);
    bytes_ -= n;
    spare_.push_back(std::move(item));
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return n;
  }

  void close() noexcept {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  template <typename Pred>
  void wait(std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Pred ready,
            const char* what) {
    const auto deadline = Clock::now() + timeout_;
    // Data first: a receiver still gets what was queued before the close.
    while (!ready()) {
      if (closed_) throw ClosedError("queue: channel closed");
      if (cv.wait_until(lock, deadline) == std::cv_status::timeout && !ready() && !closed_)
        throw TimeoutError(std::string("queue: ") + what + " made no progress within " +
                           std::to_string(timeout_.count()) + " ms");
    }
  }

  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<std::vector<std::byte>> items_;
  std::vector<std::vector<std::byte>> spare_;
  std::size_t bytes_ = 0;
  bool closed_ = false;
  const std::size_t max_bytes_;
  const std::chrono::milliseconds timeout_;
};

class QueueTransport final : public Transport {
 public:
  QueueTransport(std::shared_ptr<MessageQueue> out, std::shared_ptr<MessageQueue> in)
      : out_(std::move(out)), in_(std::move(in)) {}
  void send(std::span<const std::byte> message) override {
    plant_cost();  // nothing, except in a -DIPCBENCH_PLANT=ON build (plant.hpp)
    out_->push(message);
  }
  std::size_t recv(std::span<std::byte> buffer) override { return in_->pop(buffer); }
  void shutdown() noexcept override {
    out_->close();
    in_->close();
  }

 private:
  std::shared_ptr<MessageQueue> out_;
  std::shared_ptr<MessageQueue> in_;
};

class SharedMutexQueue final : public SharedQueue {
 public:
  explicit SharedMutexQueue(const Options& options)
      : queue_(options.buffer_bytes, options.timeout) {}
  void put(std::span<const std::byte> message) override { queue_.push(message); }
  std::size_t get(std::span<std::byte> buffer) override { return queue_.pop(buffer); }
  void close() noexcept override { queue_.close(); }

 private:
  MessageQueue queue_;
};

}  // namespace

std::unique_ptr<SharedQueue> make_shared_mutex_queue(const Options& options, std::size_t) {
  return std::make_unique<SharedMutexQueue>(options);
}

Channel make_queue_channel(const Options& options) {
  auto a_to_b = std::make_shared<MessageQueue>(options.buffer_bytes, options.timeout);
  auto b_to_a = std::make_shared<MessageQueue>(options.buffer_bytes, options.timeout);
  return {std::make_unique<QueueTransport>(a_to_b, b_to_a),
          std::make_unique<QueueTransport>(b_to_a, a_to_b)};
}

}  // namespace ipc
