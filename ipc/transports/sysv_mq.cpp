#include "ipc/transports/sysv_mq.hpp"

#include <sys/msg.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/queue_names.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

// Message types: data, the end of the stream, a spawned peer's hello. msgrcv with type 0
// takes messages in the order sent, whatever their type.
constexpr long kData = 1;
constexpr long kClose = 2;
constexpr long kHello = 3;

std::size_t msgmnb() { return read_kernel_limit("/proc/sys/kernel/msgmnb"); }

// One queue, shared by the ends in one process. Removed by the process that created it
// (in the destructor, or earlier by remove()), never by a forked copy; any end may remove
// it early to end a stuck writer (remove_now), checked against the key.
struct Queue {
  int id;
  key_t key;
  QueueMarker marker;  // empty unless we created it
  pid_t creator;       // 0: not ours to remove at the end
  std::atomic<bool> removed{false};

  Queue(int id_, key_t key_, QueueMarker marker_, pid_t creator_)
      : id(id_), key(key_), marker(std::move(marker_)), creator(creator_) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  ~Queue() {
    if (creator == ::getpid()) {
      remove_now();
      marker.release();
    }
  }
  void remove_now() noexcept {
    if (!removed.exchange(true)) remove_sysv_queue(id, key);
  }
};

std::shared_ptr<Queue> create_queue() {
  RecordedSysvQueue q = create_sysv_queue();
  return std::make_shared<Queue>(q.id, q.key, std::move(q.marker), ::getpid());
}

class SysvMqTransport final : public Transport {
 public:
  SysvMqTransport(std::shared_ptr<Queue> out, std::shared_ptr<Queue> in, std::size_t msgmax)
      : out_(std::move(out)),
        in_(std::move(in)),
        msgmax_(msgmax),
        sbuf_(sizeof(long) + msgmax),
        rbuf_(sizeof(long) + msgmax) {}

  void send(std::span<const std::byte> message) override {
    if (message.size() > msgmax_)
      throw MessageError("sysv-mq: a message of " + std::to_string(message.size()) +
                         " bytes exceeds the queue's limit of " + std::to_string(msgmax_) +
                         " bytes (/proc/sys/kernel/msgmax); messages are not split");
    const long type = kData;
    std::memcpy(sbuf_.data(), &type, sizeof type);
    copy_bytes(sbuf_.data() + sizeof type, message.data(), message.size());
    // seq_cst: Dekker with shutdown(), which stores shut_, then looks at sending_.
    sending_.store(true);
    struct Sent {
      std::atomic<bool>& sending;
      ~Sent() { sending.store(false, std::memory_order_release); }
    } sent{sending_};
    if (shut_.load()) throw ClosedError("sysv-mq: channel closed");
    while (::msgsnd(out_->id, sbuf_.data(), message.size(), 0) != 0) {
      if (errno == EINTR) continue;
      if (errno == EIDRM || errno == EINVAL)
        throw ClosedError("sysv-mq: queue removed: channel closed");
      throw_errno("msgsnd sysv-mq");
    }
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    for (;;) {
      if (shut_.load(std::memory_order_relaxed) || eof_)
        throw ClosedError("sysv-mq: channel closed");
      // The peer is gone and its close message found no room: take what is left, then end.
      const int flags = peer_gone_.load(std::memory_order_acquire) ? IPC_NOWAIT : 0;
      const ssize_t n = ::msgrcv(in_->id, rbuf_.data(), msgmax_, 0, flags);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOMSG) throw ClosedError("sysv-mq: channel closed");
        if (errno == EIDRM || errno == EINVAL)
          throw ClosedError("sysv-mq: queue removed: channel closed");
        throw_errno("msgrcv sysv-mq");
      }
      long type;
      std::memcpy(&type, rbuf_.data(), sizeof type);
      if (type == kClose) {
        eof_ = true;
        continue;
      }
      if (type != kData)
        throw MessageError("sysv-mq: unexpected message type " + std::to_string(type));
      const auto size = static_cast<std::size_t>(n);
      if (size > buffer.size())
        throw MessageError("sysv-mq: message of " + std::to_string(size) +
                           " bytes does not fit a " + std::to_string(buffer.size()) +
                           "-byte buffer");
      copy_bytes(buffer.data(), rbuf_.data() + sizeof type, size);
      return size;
    }
  }

  void shutdown() noexcept override {
    shut_.store(true);
    close_or_remove(*in_);  // our blocked reader wakes; a writer stuck on a full one fails
    // The peer sees the end after the data. But a send of ours under way may wait for
    // room for ever (a full queue still takes the 0-byte close message, not its bytes):
    // then the queue is removed, which ends it.
    if (sending_.load())
      out_->remove_now();
    else
      close_or_remove(*out_);
  }

  void on_peer_exit() noexcept override {
    // The peer's data is still read; the close message (or, with no room for it, the
    // flag) ends the stream after it.
    if (!post_close(*in_)) peer_gone_.store(true, std::memory_order_release);
    // Nobody reads the peer's queue any more: removed, so that a write of ours stuck on it
    // or yet to come fails at once. (A close message there would leave a later write of
    // a bigger message waiting for room for ever.)
    out_->remove_now();
  }

 private:
  static bool post_close(Queue& q) noexcept {
    const long type = kClose;
    return ::msgsnd(q.id, &type, 0, IPC_NOWAIT) == 0;
  }
  static void close_or_remove(Queue& q) noexcept {
    if (!post_close(q) && errno == EAGAIN) q.remove_now();
  }

  std::shared_ptr<Queue> out_;
  std::shared_ptr<Queue> in_;
  std::size_t msgmax_;
  AlignedBuffer sbuf_;
  AlignedBuffer rbuf_;
  std::atomic<bool> shut_{false};
  std::atomic<bool> sending_{false};  // a send() is under way
  std::atomic<bool> peer_gone_{false};
  bool eof_ = false;
};

class SysvMqListener final : public Listener {
 public:
  explicit SysvMqListener(const Options&)
      : msgmax_(sysv_mq_max_message()), a_to_b_(create_queue()), b_to_a_(create_queue()) {}

  std::string address() const override {
    return std::to_string(a_to_b_->id) + "," + std::to_string(b_to_a_->id);
  }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "sysv-mq " + address();
    const auto deadline = Clock::now() + timeout;
    // msgrcv cannot poll with the peer's pidfd: polled, from 20 us up to 1 ms apart.
    struct {
      long type;
      char text[1];
    } hello{};
    auto pause = std::chrono::microseconds(20);
    while (::msgrcv(b_to_a_->id, &hello, 0, kHello, IPC_NOWAIT | MSG_NOERROR) < 0) {
      if (errno != ENOMSG && errno != EINTR) throw_errno("msgrcv hello " + what);
      check_peer_alive(abort_fd, what);
      if (Clock::now() >= deadline)
        throw TimeoutError(what + ": the peer did not open its end within " +
                           std::to_string(timeout.count()) + " ms");
      std::this_thread::sleep_for(pause);
      pause = std::min(2 * pause, std::chrono::microseconds(1000));
    }
    return std::make_unique<SysvMqTransport>(a_to_b_, b_to_a_, msgmax_);
  }

 private:
  std::size_t msgmax_;
  std::shared_ptr<Queue> a_to_b_;
  std::shared_ptr<Queue> b_to_a_;
};

// A queue of a spawned peer's channel, by id: checked to be one of ours.
std::shared_ptr<Queue> open_queue(int id, const std::string& address) {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) throw_errno("msgctl IPC_STAT sysv-mq " + address);
  if (sysv_key_owner(ds.msg_perm.__key) == 0)
    throw std::runtime_error("sysv-mq " + address + ": queue " + std::to_string(id) +
                             " is not one of ipcbench's");
  return std::make_shared<Queue>(id, ds.msg_perm.__key, QueueMarker(), 0);
}

}  // namespace

std::size_t sysv_mq_max_message() { return read_kernel_limit("/proc/sys/kernel/msgmax"); }

std::string sysv_mq_limits() {
  return "msgmax=" + std::to_string(sysv_mq_max_message()) + " msgmnb=" + std::to_string(msgmnb()) +
         " (bytes a queue holds; larger messages are not measured)";
}

Channel make_sysv_mq_channel(const Options&) {
  const std::size_t msgmax = sysv_mq_max_message();
  auto a_to_b = create_queue();
  auto b_to_a = create_queue();
  return {std::make_unique<SysvMqTransport>(a_to_b, b_to_a, msgmax),
          std::make_unique<SysvMqTransport>(b_to_a, a_to_b, msgmax)};
}

std::unique_ptr<Listener> listen_sysv_mq(const Options& options) {
  return std::make_unique<SysvMqListener>(options);
}

std::unique_ptr<Transport> connect_sysv_mq(const std::string& address, const Options&) {
  auto bad = [&] {
    return std::invalid_argument("sysv-mq: bad address '" + address +
                                 "' (want <a_to_b id>,<b_to_a id>)");
  };
  int ids[2] = {-1, -1};
  const char* p = address.data();
  const char* end = address.data() + address.size();
  for (int i = 0; i < 2; ++i) {
    auto [next, ec] = std::from_chars(p, end, ids[i]);
    if (ec != std::errc() || ids[i] < 0) throw bad();
    p = next;
    if (i == 0 && (p == end || *p++ != ',')) throw bad();
  }
  if (p != end) throw bad();
  auto a_to_b = open_queue(ids[0], address);
  auto b_to_a = open_queue(ids[1], address);
  const long hello = kHello;
  if (::msgsnd(b_to_a->id, &hello, 0, IPC_NOWAIT) != 0) throw_errno("msgsnd hello " + address);
  return std::make_unique<SysvMqTransport>(b_to_a, a_to_b, sysv_mq_max_message());
}

}  // namespace ipc
