#include "ipc/transports/posix_mq.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/queue_names.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

// Waits are sliced so that shutdown() (a process-local flag, as for shm-boost) is noticed
// promptly; a message already queued is still delivered first.
constexpr long kSliceNs = 50'000'000;
constexpr char kWhat[] = "posix-mq";

std::size_t msg_max() { return read_kernel_limit("/proc/sys/fs/mqueue/msg_max"); }

// How many messages a queue holds: what buffer_bytes allows, within msg_max.
long depth_for(const Options& options, std::size_t msgsize) {
  return static_cast<long>(std::clamp<std::size_t>(options.buffer_bytes / msgsize, 1,
                                                   std::max<std::size_t>(msg_max(), 1)));
}

// An mq descriptor (an fd on Linux), closed in the destructor.
class MqFd {
 public:
  MqFd() = default;
  explicit MqFd(mqd_t d) noexcept : d_(d) {}
  MqFd(MqFd&& o) noexcept : d_(std::exchange(o.d_, mqd_t(-1))) {}
  MqFd& operator=(MqFd&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~MqFd() {
    if (d_ != mqd_t(-1)) ::mq_close(d_);
  }
  mqd_t get() const noexcept { return d_; }

 private:
  mqd_t d_ = mqd_t(-1);
};

MqFd open_queue(const std::string& name, int flags, mq_attr* attr = nullptr) {
  mqd_t d = attr != nullptr ? ::mq_open(name.c_str(), flags | O_CLOEXEC, 0600, attr)
                            : ::mq_open(name.c_str(), flags | O_CLOEXEC);
  if (d == mqd_t(-1)) {
    const int err = errno;
    if (err == EMFILE)  // RLIMIT_MSGQUEUE gives EMFILE too: say so
      throw_system_error(err, "mq_open " + name + " (or the RLIMIT_MSGQUEUE byte limit)");
    throw_errno("mq_open " + name);
  }
  return MqFd(d);
}

std::size_t msgsize_of(const MqFd& q, const std::string& name) {
  mq_attr attr{};
  if (::mq_getattr(q.get(), &attr) != 0) throw_errno("mq_getattr " + name);
  return static_cast<std::size_t>(attr.mq_msgsize);
}

// A queue created by us: the name stays recorded (its marker) until it is unlinked.
struct CreatedQueue {
  RecordedMqName name;
  bool linked = true;

  CreatedQueue(std::size_t msgsize, long depth) : name(record_mq_name()) {
    mq_attr attr{};
    attr.mq_maxmsg = depth;
    attr.mq_msgsize = static_cast<long>(msgsize);
    open_queue(name.name, O_RDWR | O_CREAT | O_EXCL, &attr);  // closed again at once
  }
  CreatedQueue(const CreatedQueue&) = delete;
  CreatedQueue& operator=(const CreatedQueue&) = delete;
  ~CreatedQueue() { unlink(); }
  void unlink() noexcept {
    if (!linked) return;
    linked = false;
    ::mq_unlink(name.name.c_str());
    name.marker.release();
  }
};

class PosixMqTransport final : public Transport {
 public:
  PosixMqTransport(MqFd out, MqFd in, std::size_t msgsize,
                   std::shared_ptr<std::atomic<bool>> closed, std::chrono::milliseconds timeout)
      : out_(std::move(out)),
        in_(std::move(in)),
        msgsize_(msgsize),
        closed_(std::move(closed)),
        timeout_(timeout),
        rbuf_(msgsize) {}

  void send(std::span<const std::byte> message) override {
    if (message.size() > msgsize_)
      throw MessageError("posix-mq: a message of " + std::to_string(message.size()) +
                         " bytes exceeds the queue's limit of " + std::to_string(msgsize_) +
                         " bytes (/proc/sys/fs/mqueue/msgsize_max); messages are not split");
    static const char kNone = 0;  // an empty span's data() may be null; mq_timedsend's not
    const auto* data = message.empty() ? &kNone : reinterpret_cast<const char*>(message.data());
    sliced("mq_timedsend", [&](const timespec* until) {
      return ::mq_timedsend(out_.get(), data, message.size(), 0, until);
    });
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    // mq_receive wants room for the largest message: straight into the caller's buffer
    // when it has it, else through ours.
    const bool direct = buffer.size() >= msgsize_;
    auto* dst = reinterpret_cast<char*>(direct ? buffer.data() : rbuf_.data());
    const ssize_t n = sliced("mq_timedreceive", [&](const timespec* until) {
      return ::mq_timedreceive(in_.get(), dst, msgsize_, nullptr, until);
    });
    const auto size = static_cast<std::size_t>(n);
    if (direct) return size;
    if (size > buffer.size())
      throw MessageError("posix-mq: message of " + std::to_string(size) + " bytes does not fit a " +
                         std::to_string(buffer.size()) + "-byte buffer");
    copy_bytes(buffer.data(), rbuf_.data(), size);
    return size;
  }

  void shutdown() noexcept override { closed_->store(true); }

 private:
  // Runs `op` (an mq_timed* call) with deadlines kSliceNs apart until it succeeds,
  // checking the closed flag and the timeout between slices. Once closed, only what is
  // queued already is delivered (a deadline in the past).
  template <typename Op>
  ssize_t sliced(const char* call, Op op) {
    Clock::time_point deadline{};
    for (bool first = true;; first = false) {
      timespec until{};
      const bool closed = closed_->load(std::memory_order_relaxed);
      if (!closed) {
        ::clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += kSliceNs;
        if (until.tv_nsec >= 1'000'000'000) {
          until.tv_nsec -= 1'000'000'000;
          ++until.tv_sec;
        }
      }
      const ssize_t r = op(&until);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      if (errno != ETIMEDOUT) throw_errno(std::string(call) + " " + kWhat);
      if (closed) throw ClosedError("posix-mq: channel closed");
      if (first)
        deadline = Clock::now() + timeout_;  // the clock only after a slice
      else if (Clock::now() >= deadline)
        throw TimeoutError(std::string("posix-mq: ") + call + " made no progress within " +
                           std::to_string(timeout_.count()) + " ms");
    }
  }

  MqFd out_;
  MqFd in_;
  std::size_t msgsize_;
  std::shared_ptr<std::atomic<bool>> closed_;
  std::chrono::milliseconds timeout_;
  AlignedBuffer rbuf_;
};

// Sent by a spawned peer on b_to_a once it has opened both queues.
constexpr char kHello = 'H';

class PosixMqListener final : public Listener {
 public:
  explicit PosixMqListener(const Options& options)
      : msgsize_(posix_mq_max_message()),
        a_to_b_(msgsize_, depth_for(options, msgsize_)),
        b_to_a_(msgsize_, depth_for(options, msgsize_)),
        out_(open_queue(a_to_b_.name.name, O_WRONLY)),
        in_(open_queue(b_to_a_.name.name, O_RDONLY)),
        timeout_(options.timeout) {}

  std::string address() const override { return a_to_b_.name.name + "," + b_to_a_.name.name; }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "posix-mq " + address();
    wait_for_peer(in_.get(), POLLIN, abort_fd, timeout, what);  // an mqd_t polls on Linux
    AlignedBuffer hello(msgsize_);
    ssize_t n = ::mq_receive(in_.get(), reinterpret_cast<char*>(hello.data()), msgsize_, nullptr);
    if (n != 1 || static_cast<char>(hello.data()[0]) != kHello)
      throw MessageError(what + ": no hello from the peer");
    a_to_b_.unlink();
    b_to_a_.unlink();
    return std::make_unique<PosixMqTransport>(std::move(out_), std::move(in_), msgsize_,
                                              std::make_shared<std::atomic<bool>>(false), timeout_);
  }

 private:
  std::size_t msgsize_;
  CreatedQueue a_to_b_;
  CreatedQueue b_to_a_;
  MqFd out_;
  MqFd in_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::size_t posix_mq_max_message() { return read_kernel_limit("/proc/sys/fs/mqueue/msgsize_max"); }

std::string posix_mq_limits() {
  const std::size_t size = posix_mq_max_message();
  return "msgsize_max=" + std::to_string(size) + " msg_max=" + std::to_string(msg_max()) +
         " depth=" + std::to_string(depth_for(Options{}, size)) +
         " (larger messages are not measured)";
}

Channel make_posix_mq_channel(const Options& options) {
  const std::size_t msgsize = posix_mq_max_message();
  const long depth = depth_for(options, msgsize);
  CreatedQueue a_to_b(msgsize, depth), b_to_a(msgsize, depth);
  MqFd a_out = open_queue(a_to_b.name.name, O_WRONLY);
  MqFd b_in = open_queue(a_to_b.name.name, O_RDONLY);
  MqFd b_out = open_queue(b_to_a.name.name, O_WRONLY);
  MqFd a_in = open_queue(b_to_a.name.name, O_RDONLY);
  // Forked peers inherit the descriptors: the names go now (the destructors unlink them).
  auto closed = std::make_shared<std::atomic<bool>>(false);
  return {std::make_unique<PosixMqTransport>(std::move(a_out), std::move(a_in), msgsize, closed,
                                             options.timeout),
          std::make_unique<PosixMqTransport>(std::move(b_out), std::move(b_in), msgsize, closed,
                                             options.timeout)};
}

std::unique_ptr<Listener> listen_posix_mq(const Options& options) {
  return std::make_unique<PosixMqListener>(options);
}

std::unique_ptr<Transport> connect_posix_mq(const std::string& address, const Options& options) {
  auto comma = address.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == address.size())
    throw std::invalid_argument("posix-mq: bad address '" + address + "' (want <a_to_b>,<b_to_a>)");
  const std::string a_to_b = address.substr(0, comma), b_to_a = address.substr(comma + 1);
  MqFd in = open_queue(a_to_b, O_RDONLY);
  MqFd out = open_queue(b_to_a, O_WRONLY);
  const std::size_t msgsize = msgsize_of(in, a_to_b);
  if (msgsize_of(out, b_to_a) != msgsize)
    throw std::runtime_error("posix-mq " + address + ": the two queues' message sizes differ");
  timespec now{};  // the queue is empty: the hello never waits
  if (::mq_timedsend(out.get(), &kHello, 1, 0, &now) != 0) throw_errno("mq_send hello " + b_to_a);
  return std::make_unique<PosixMqTransport>(std::move(out), std::move(in), msgsize,
                                            std::make_shared<std::atomic<bool>>(false),
                                            options.timeout);
}

}  // namespace ipc
