#include "ipc/transports/nng.hpp"

#include <nng/nng.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nng/protocol/pair1/pair.h>

#include "ipc/core/error.hpp"
#include "ipc/core/wait.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

// How long one library call waits before the end looks at its flags and the deadline.
constexpr nng_duration kSliceMs = 50;

// nng's error as ours: a system error keeps its errno (so running out of descriptors
// reads "Too many open files", as for every transport).
[[noreturn]] void throw_nng(int rv, const std::string& what) {
  if (rv == NNG_ECLOSED) throw ClosedError(what + ": socket closed");
  if ((rv & NNG_ESYSERR) != 0) throw_system_error(rv & ~NNG_ESYSERR, what);
  if (rv == NNG_ENOFILES) throw_system_error(EMFILE, what);
  if (rv == NNG_ENOMEM) throw_system_error(ENOMEM, what);
  throw std::runtime_error(what + ": " + nng_strerror(rv));
}

void check(int rv, const std::string& what) {
  if (rv != 0) throw_nng(rv, what);
}

// nng aborts the process when used in a forked child of a process that used it: say so
// with an error instead.
std::atomic<bool> g_forked{false};
void note_fork() { g_forked.store(true, std::memory_order_relaxed); }

void refuse_after_fork(const char* name) {
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(nullptr, nullptr, note_fork); });
  if (g_forked.load(std::memory_order_relaxed))
    throw std::runtime_error(std::string(name) +
                             ": nng cannot be used in a forked child of a process that used it "
                             "(nng is not fork-safe)");
}

// A pair1 socket that waits in slices and takes messages of any size. Its connection and
// nng's own poller need descriptors; short of them, nng's dial times out instead of
// saying why.
nng_socket open_pair(const char* name) {
  refuse_after_fork(name);
  require_free_descriptors(4, std::string("nng socket for ") + name);
  nng_socket s = NNG_SOCKET_INITIALIZER;
  check(nng_pair1_open(&s), std::string("nng_pair1_open ") + name);
  try {
    check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, 0), "nng recv-size-max");
    check(nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, kSliceMs), "nng recv-timeout");
    check(nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, kSliceMs), "nng send-timeout");
  } catch (...) {
    nng_close(s);
    throw;
  }
  return s;
}

// Owns a socket: closes it in the process that opened it (a forked copy does not).
class Socket {
 public:
  explicit Socket(nng_socket s) noexcept : s_(s), pid_(::getpid()) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (::getpid() == pid_) nng_close(s_);
  }
  nng_socket get() const noexcept { return s_; }

 private:
  nng_socket s_;
  pid_t pid_;
};

class NngEnd final : public Transport {
 public:
  NngEnd(std::unique_ptr<Socket> socket, const Options& options, const char* name,
         std::unique_ptr<TempDir> dir = nullptr)
      : socket_(std::move(socket)), dir_(std::move(dir)), timeout_(options.timeout), name_(name) {}

  ~NngEnd() override {
    socket_.reset();  // before the directory that holds its socket file
    dir_.reset();
  }

  void send(std::span<const std::byte> message) override {
    nng_msg* msg = nullptr;
    check(nng_msg_alloc(&msg, message.size()), std::string("nng_msg_alloc ") + name_);
    if (!message.empty()) std::memcpy(nng_msg_body(msg), message.data(), message.size());
    LazyDeadline deadline(timeout_);
    for (;;) {
      int rv = closed_.load(std::memory_order_relaxed) ? NNG_ECLOSED
                                                       : nng_sendmsg(socket_->get(), msg, 0);
      if (rv == 0) return;  // nng owns the message now
      if (rv != NNG_ETIMEDOUT) {
        nng_msg_free(msg);
        fail(rv, "nng_sendmsg");
      }
      try {
        waited_a_slice(deadline);
      } catch (...) {
        nng_msg_free(msg);
        throw;
      }
    }
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    LazyDeadline deadline(timeout_);
    for (;;) {
      if (closed_.load(std::memory_order_relaxed)) fail(NNG_ECLOSED, "nng_recvmsg");
      nng_msg* msg = nullptr;
      int rv = nng_recvmsg(socket_->get(), &msg, 0);
      if (rv == 0) {
        const std::size_t size = nng_msg_len(msg);
        if (size > buffer.size()) {
          nng_msg_free(msg);
          throw MessageError(std::string(name_) + ": message of " + std::to_string(size) +
                             " bytes does not fit a " + std::to_string(buffer.size()) +
                             "-byte buffer");
        }
        if (size != 0) std::memcpy(buffer.data(), nng_msg_body(msg), size);
        nng_msg_free(msg);
        return size;
      }
      if (rv != NNG_ETIMEDOUT) fail(rv, "nng_recvmsg");
      waited_a_slice(deadline);
    }
  }

  void shutdown() noexcept override { closed_.store(true, std::memory_order_relaxed); }

  // The peer process is gone: what it sent is in our socket by now, so a call that then
  // waits a whole slice in vain ends.
  void on_peer_exit() noexcept override { peer_gone_.store(true, std::memory_order_relaxed); }

 private:
  [[noreturn]] void fail(int rv, const char* call) {
    if (rv == NNG_ECLOSED) throw ClosedError(std::string(name_) + ": channel shut down");
    throw_nng(rv, std::string(call) + " " + name_);
  }

  void waited_a_slice(LazyDeadline& deadline) {
    if (peer_gone_.load(std::memory_order_relaxed))
      throw ClosedError(std::string(name_) + ": the peer exited");
    if (deadline.passed())
      throw TimeoutError(std::string(name_) + ": no progress from the peer within " +
                         std::to_string(timeout_.count()) + " ms");
  }

  std::unique_ptr<Socket> socket_;
  std::unique_ptr<TempDir> dir_;
  std::chrono::milliseconds timeout_;
  const char* name_;
  std::atomic<bool> closed_{false};
  std::atomic<bool> peer_gone_{false};
};

// A listening end: its socket, its URL (the port filled in), and the directory of its
// socket file (ipc).
struct Bound {
  std::unique_ptr<TempDir> dir;  // outlives the socket
  std::unique_ptr<Socket> socket;
  std::string url;
};

// Listens on `url`; for tcp, "tcp://127.0.0.1:0" becomes the port it got.
Bound listen_on(std::string url, std::unique_ptr<TempDir> dir, const char* name) {
  Bound b{std::move(dir), std::make_unique<Socket>(open_pair(name)), std::move(url)};
  nng_listener l;
  check(nng_listener_create(&l, b.socket->get(), b.url.c_str()), "nng_listener_create " + b.url);
  check(nng_listener_start(l, 0), "nng_listen " + b.url);
  if (b.url.rfind("tcp://", 0) == 0) {
    int port = 0;
    check(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), "nng tcp-bound-port");
    b.url = "tcp://127.0.0.1:" + std::to_string(port);
  }
  return b;
}

Bound listen_ipc(const char* name) {
  auto dir = std::make_unique<TempDir>();
  std::string url = "ipc://" + dir->entry("nng");
  return listen_on(std::move(url), std::move(dir), name);
}

Bound listen_tcp(const char* name) { return listen_on("tcp://127.0.0.1:0", nullptr, name); }

std::unique_ptr<Transport> dial(const std::string& url, const Options& options, const char* name) {
  auto socket = std::make_unique<Socket>(open_pair(name));
  check(nng_dial(socket->get(), url.c_str(), nullptr, 0), std::string("nng_dial ") + url);
  return std::make_unique<NngEnd>(std::move(socket), options, name);
}

Channel make_channel(Bound bound, const Options& options, const char* name) {
  std::unique_ptr<Transport> b = dial(bound.url, options, name);
  return {std::make_unique<NngEnd>(std::move(bound.socket), options, name, std::move(bound.dir)),
          std::move(b)};
}

// Waits for the spawned peer's pipe (a pipe-notify callback writes an eventfd), then hands
// over the listening end; the socket file (nng-ipc) goes at once, the connection stays.
class NngListener final : public Listener {
 public:
  NngListener(Bound bound, const Options& options, const char* name)
      : added_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        bound_(std::move(bound)),
        options_(options),
        name_(name) {
    if (!added_) throw_errno("eventfd");
    check(nng_pipe_notify(bound_.socket->get(), NNG_PIPE_EV_ADD_POST, on_pipe, this),
          "nng_pipe_notify");
  }

  ~NngListener() override {
    if (bound_.socket)
      nng_pipe_notify(bound_.socket->get(), NNG_PIPE_EV_ADD_POST, nullptr, nullptr);
  }

  std::string address() const override { return bound_.url; }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    wait_for_peer(added_.get(), POLLIN, abort_fd, timeout, std::string(name_) + " " + bound_.url);
    nng_pipe_notify(bound_.socket->get(), NNG_PIPE_EV_ADD_POST, nullptr, nullptr);
    bound_.dir.reset();
    return std::make_unique<NngEnd>(std::move(bound_.socket), options_, name_);
  }

 private:
  static void on_pipe(nng_pipe, nng_pipe_ev, void* self) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(static_cast<NngListener*>(self)->added_.get(), &one, 8);
  }

  UniqueFd added_;  // outlives the socket, whose callback writes it
  Bound bound_;
  Options options_;
  const char* name_;
};

std::unique_ptr<Transport> connect_checked(const std::string& address, const Options& options,
                                           std::string_view scheme, const char* name) {
  require_scheme(address, scheme, name);  // transport.hpp
  return dial(address, options, name);
}

}  // namespace

Channel make_nng_ipc_channel(const Options& options) {
  return make_channel(listen_ipc("nng-ipc"), options, "nng-ipc");
}

Channel make_nng_tcp_channel(const Options& options) {
  return make_channel(listen_tcp("nng-tcp"), options, "nng-tcp");
}

Channel make_nng_inproc_channel(const Options& options) {
  static std::atomic<unsigned> counter{0};
  std::string url =
      "inproc://ipcbench-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  return make_channel(listen_on(std::move(url), nullptr, "nng-inproc"), options, "nng-inproc");
}

std::unique_ptr<Listener> listen_nng_ipc(const Options& options) {
  return std::make_unique<NngListener>(listen_ipc("nng-ipc"), options, "nng-ipc");
}

std::unique_ptr<Transport> connect_nng_ipc(const std::string& address, const Options& options) {
  return connect_checked(address, options, "ipc://", "nng-ipc");
}

std::unique_ptr<Listener> listen_nng_tcp(const Options& options) {
  return std::make_unique<NngListener>(listen_tcp("nng-tcp"), options, "nng-tcp");
}

std::unique_ptr<Transport> connect_nng_tcp(const std::string& address, const Options& options) {
  return connect_checked(address, options, "tcp://", "nng-tcp");
}

}  // namespace ipc
