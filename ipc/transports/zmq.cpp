#include "ipc/transports/zmq.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include <zmq.hpp>

#include "ipc/core/error.hpp"
#include "ipc/core/wait.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

// How long one library call waits before the end looks at its flags and the deadline.
constexpr std::chrono::milliseconds kSlice(50);

// ZeroMQ's error as ours: a terminated context is a closed channel, a system error keeps
// its errno (so "Too many open files" reads as it does for every transport).
[[noreturn]] void throw_zmq(int err, const std::string& what) {
  if (err == ETERM) throw ClosedError(what + ": context terminated");
  if (err < ZMQ_HAUSNUMERO) throw_system_error(err, what);
  throw std::runtime_error(what + ": " + zmq_strerror(err));
}

// libzmq aborts the process (errno_assert) when its threads cannot get a descriptor; a
// context and a socket take six.
constexpr int kDescriptorsNeeded = 8;

// How an end reaches the other: its endpoint, whether it binds, and for the binding end of
// ipc/tcp the listening socket we made (handed to ZeroMQ with ZMQ_USE_FD) and the
// directory that holds the socket file.
struct Endpoint {
  std::string address;
  bool bind = false;
  UniqueFd listen_fd;
  std::unique_ptr<TempDir> dir;
  std::shared_ptr<zmq::context_t> shared_context;  // zmq-inproc: both ends' context
};

class ZmqEnd final : public Transport {
 public:
  ZmqEnd(Endpoint endpoint, const Options& options, const char* name)
      : endpoint_(std::move(endpoint)), timeout_(options.timeout), name_(name) {}

  ZmqEnd(const ZmqEnd&) = delete;
  ZmqEnd& operator=(const ZmqEnd&) = delete;

  ~ZmqEnd() override {
    if (opened_pid_ != 0 && ::getpid() != opened_pid_) {
      // A forked copy: the context's threads are not in this process, so closing would
      // wait for ever. The memory goes with the process.
      (void)socket_.release();
      (void)context_.release();
      if (endpoint_.shared_context) new std::shared_ptr(std::move(endpoint_.shared_context));
      return;
    }
    // Closing flushes what is still queued for the peer, for at most ZMQ_LINGER (the
    // timeout); then the context ends its threads.
    socket_.reset();
    context_.reset();
  }

  void send(std::span<const std::byte> message) override {
    zmq::socket_t& s = socket();
    LazyDeadline deadline(timeout_);
    for (;;) {
      check_open();
      int n = zmq_send(s.handle(), message.data(), message.size(), 0);
      if (n >= 0) return;
      wait_failed("zmq_send", deadline);
    }
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    zmq::socket_t& s = socket();
    LazyDeadline deadline(timeout_);
    for (;;) {
      check_open();
      int n = zmq_recv(s.handle(), buffer.data(), buffer.size(), 0);
      if (n >= 0) {
        const auto size = static_cast<std::size_t>(n);
        if (size > buffer.size())  // zmq_recv truncated it
          throw MessageError(std::string(name_) + ": message of " + std::to_string(size) +
                             " bytes does not fit a " + std::to_string(buffer.size()) +
                             "-byte buffer");
        return size;
      }
      wait_failed("zmq_recv", deadline);
    }
  }

  void shutdown() noexcept override { closed_.store(true, std::memory_order_relaxed); }

  // The peer process is gone: what it sent is in our socket by now (it flushed before
  // exiting), so a call that then waits a whole slice in vain ends.
  void on_peer_exit() noexcept override { peer_gone_.store(true, std::memory_order_relaxed); }

 private:
  zmq::socket_t& socket() {
    if (!socket_) open();
    return *socket_;
  }

  void open() {
    check_open();
    const std::string what = std::string(name_) + " " + endpoint_.address;
    require_free_descriptors(kDescriptorsNeeded, "ZeroMQ context for " + what);
    try {
      zmq::context_t& context = endpoint_.shared_context
                                    ? *endpoint_.shared_context
                                    : *(context_ = std::make_unique<zmq::context_t>());
      socket_ = std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair);
      opened_pid_ = ::getpid();
      const int slice = static_cast<int>(kSlice.count());
      socket_->set(zmq::sockopt::rcvtimeo, slice);
      socket_->set(zmq::sockopt::sndtimeo, slice);
      socket_->set(zmq::sockopt::linger, static_cast<int>(timeout_.count()));
      if (!endpoint_.bind) {
        socket_->connect(endpoint_.address);
        return;
      }
      if (endpoint_.listen_fd) socket_->set(zmq::sockopt::use_fd, endpoint_.listen_fd.get());
      socket_->bind(endpoint_.address);
      (void)endpoint_.listen_fd.release();  // ZeroMQ closes it now
    } catch (const zmq::error_t& e) {
      throw_zmq(e.num(), "zmq open " + what);
    }
  }

  void check_open() const {
    if (closed_.load(std::memory_order_relaxed))
      throw ClosedError(std::string(name_) + ": channel shut down");
  }

  // After a call returned -1: a slice passed (EAGAIN), a signal came (EINTR), or an error.
  void wait_failed(const char* call, LazyDeadline& deadline) {
    const int err = zmq_errno();
    if (err != EAGAIN && err != EINTR) throw_zmq(err, std::string(call) + " " + name_);
    if (err == EINTR) return;
    if (peer_gone_.load(std::memory_order_relaxed))
      throw ClosedError(std::string(name_) + ": the peer exited");
    if (deadline.passed())
      throw TimeoutError(std::string(name_) + ": no progress from the peer within " +
                         std::to_string(timeout_.count()) + " ms");
  }

  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  const char* name_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<zmq::socket_t> socket_;
  pid_t opened_pid_ = 0;
  std::atomic<bool> closed_{false};
  std::atomic<bool> peer_gone_{false};
};

// A listening Unix socket at <dir>/zmq.
Endpoint listen_ipc() {
  Endpoint e;
  e.bind = true;
  e.dir = std::make_unique<TempDir>();
  const std::string path = e.dir->entry("zmq");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::invalid_argument("path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  e.listen_fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!e.listen_fd) throw_errno("socket unix " + path);
  if (::bind(e.listen_fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("bind " + path);
  if (::listen(e.listen_fd.get(), 16) != 0) throw_errno("listen " + path);
  e.address = "ipc://" + path;
  return e;
}

// A listening TCP socket on 127.0.0.1, ephemeral port.
Endpoint listen_tcp_loopback() {
  Endpoint e;
  e.bind = true;
  e.listen_fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!e.listen_fd) throw_errno("socket tcp");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (::bind(e.listen_fd.get(), sa, len) != 0) throw_errno("bind tcp 127.0.0.1:0");
  if (::listen(e.listen_fd.get(), 16) != 0) throw_errno("listen tcp");
  if (::getsockname(e.listen_fd.get(), sa, &len) != 0) throw_errno("getsockname tcp");
  e.address = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  return e;
}

Endpoint connecting_to(std::string address) {
  Endpoint e;
  e.address = std::move(address);
  return e;
}

Channel make_channel(Endpoint bound, const Options& options, const char* name) {
  Endpoint other = connecting_to(bound.address);
  other.shared_context = bound.shared_context;
  return {std::make_unique<ZmqEnd>(std::move(bound), options, name),
          std::make_unique<ZmqEnd>(std::move(other), options, name)};
}

// Waits for the spawned peer's connection, then hands over the binding end; the socket
// file (zmq-ipc) goes at once, the connection stays.
class ZmqListener final : public Listener {
 public:
  ZmqListener(Endpoint endpoint, const Options& options, const char* name)
      : endpoint_(std::move(endpoint)), options_(options), name_(name) {}

  std::string address() const override { return endpoint_.address; }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    wait_for_peer(endpoint_.listen_fd.get(), POLLIN, abort_fd, timeout,
                  std::string(name_) + " " + endpoint_.address);
    endpoint_.dir.reset();
    return std::make_unique<ZmqEnd>(std::move(endpoint_), options_, name_);
  }

 private:
  Endpoint endpoint_;
  Options options_;
  const char* name_;
};

std::unique_ptr<Transport> connect_checked(const std::string& address, const Options& options,
                                           std::string_view scheme, const char* name) {
  require_scheme(address, scheme, name);  // transport.hpp
  return std::make_unique<ZmqEnd>(connecting_to(address), options, name);
}

}  // namespace

Channel make_zmq_ipc_channel(const Options& options) {
  return make_channel(listen_ipc(), options, "zmq-ipc");
}

Channel make_zmq_tcp_channel(const Options& options) {
  return make_channel(listen_tcp_loopback(), options, "zmq-tcp");
}

Channel make_zmq_inproc_channel(const Options& options) {
  static std::atomic<unsigned> counter{0};
  Endpoint e;
  e.bind = true;
  e.address = "inproc://ipcbench-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  require_free_descriptors(kDescriptorsNeeded, "ZeroMQ context for zmq-inproc");
  try {
    e.shared_context = std::make_shared<zmq::context_t>();
  } catch (const zmq::error_t& err) {
    throw_zmq(err.num(), "zmq_ctx_new");
  }
  return make_channel(std::move(e), options, "zmq-inproc");
}

std::unique_ptr<Listener> listen_zmq_ipc(const Options& options) {
  return std::make_unique<ZmqListener>(listen_ipc(), options, "zmq-ipc");
}

std::unique_ptr<Transport> connect_zmq_ipc(const std::string& address, const Options& options) {
  return connect_checked(address, options, "ipc://", "zmq-ipc");
}

std::unique_ptr<Listener> listen_zmq_tcp(const Options& options) {
  return std::make_unique<ZmqListener>(listen_tcp_loopback(), options, "zmq-tcp");
}

std::unique_ptr<Transport> connect_zmq_tcp(const std::string& address, const Options& options) {
  return connect_checked(address, options, "tcp://", "zmq-tcp");
}

}  // namespace ipc
