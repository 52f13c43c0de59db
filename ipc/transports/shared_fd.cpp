#include "ipc/transports/shared_fd.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl O_NONBLOCK");
}

class FdSharedQueue final : public SharedQueue {
 public:
  FdSharedQueue(UniqueFd read_end, UniqueFd write_end, bool socket, const Options& options,
                std::size_t max_message, const char* what)
      : scratch_(socket ? 0 : max_message),
        read_(std::move(read_end)),
        write_(std::move(write_end)),
        closed_(::eventfd(0, EFD_CLOEXEC)),
        socket_(socket),
        timeout_(options.timeout),
        what_(what) {
    if (!closed_) throw_errno("eventfd");
    set_nonblocking(read_.get());
    set_nonblocking(write_.get());
  }

  void put(std::span<const std::byte> message) override {
    if (message.empty()) throw MessageError(std::string(what_) + ": empty messages are not sent");
    check_open();
    Deadline deadline(timeout_);
    for (;;) {
      const ssize_t n = socket_ ? ::send(write_.get(), message.data(), message.size(),
                                         MSG_NOSIGNAL | MSG_DONTWAIT)
                                : ::write(write_.get(), message.data(), message.size());
      if (n == static_cast<ssize_t>(message.size())) return;
      if (n >= 0)
        throw MessageError(std::string(what_) + ": short write of " + std::to_string(n) + " of " +
                           std::to_string(message.size()) + " bytes");
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET) throw ClosedError(std::string(what_) + ": closed");
      if (errno != EAGAIN) throw_errno(std::string(what_) + ": write");
      wait(write_.get(), POLLOUT, deadline, "put");
    }
  }

  std::size_t get(std::span<std::byte> buffer) override {
    check_open();
    // A packet pipe's read(2) drops what does not fit: read into room for the largest
    // message when the caller's buffer is smaller, so that a cut message is an error.
    if (!socket_ && buffer.size() < scratch_.size()) {
      const std::size_t n = get(scratch_);
      if (n > buffer.size())
        throw MessageError(std::string(what_) + ": message of " + std::to_string(n) +
                           " bytes does not fit a " + std::to_string(buffer.size()) +
                           "-byte buffer");
      std::memcpy(buffer.data(), scratch_.data(), n);
      return n;
    }
    Deadline deadline(timeout_);
    for (;;) {
      // MSG_TRUNC: a datagram's whole length even when it did not fit.
      const ssize_t n =
          socket_ ? ::recv(read_.get(), buffer.data(), buffer.size(), MSG_TRUNC | MSG_DONTWAIT)
                  : ::read(read_.get(), buffer.data(), buffer.size());
      if (n > 0) {
        if (static_cast<std::size_t>(n) > buffer.size())
          throw MessageError(std::string(what_) + ": message of " + std::to_string(n) +
                             " bytes does not fit a " + std::to_string(buffer.size()) +
                             "-byte buffer");
        return static_cast<std::size_t>(n);
      }
      if (n == 0) throw ClosedError(std::string(what_) + ": end of file");
      if (errno == EINTR) continue;
      if (errno != EAGAIN) throw_errno(std::string(what_) + ": read");
      wait(read_.get(), POLLIN, deadline, "get");
    }
  }

  void close() noexcept override {
    closed_here_.store(true);
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(closed_.get(), &one, sizeof one);
  }

 private:
  struct Deadline {
    explicit Deadline(std::chrono::milliseconds t) : at(Clock::now() + t) {}
    Clock::time_point at;
  };

  // Calls after close() in this process fail at once; in another, once they would wait.
  void check_open() const {
    if (closed_here_.load(std::memory_order_relaxed))
      throw ClosedError(std::string(what_) + ": queue closed");
  }

  void wait(int fd, short events, const Deadline& deadline, const char* op) {
    pollfd fds[2] = {{fd, events, 0}, {closed_.get(), POLLIN, 0}};
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline.at - Clock::now());
      if (left.count() < 0)
        throw TimeoutError(std::string(what_) + ": " + op + " made no progress within " +
                           std::to_string(timeout_.count()) + " ms");
      const int r = ::poll(fds, 2, static_cast<int>(left.count()) + 1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw_errno(std::string(what_) + ": poll");
      if (fds[1].revents != 0) throw ClosedError(std::string(what_) + ": queue closed");
      if (fds[0].revents != 0) return;
    }
  }

  std::vector<std::byte> scratch_;  // packet pipe only: room for the largest message
  UniqueFd read_;
  UniqueFd write_;
  UniqueFd closed_;  // readable once close() was called, in every process sharing it
  std::atomic<bool> closed_here_{false};
  bool socket_;
  std::chrono::milliseconds timeout_;
  const char* what_;
};

void check_size(std::size_t max_message, std::size_t limit, const char* what) {
  if (max_message > limit)
    throw std::invalid_argument(std::string(what) + ": messages of at most " +
                                std::to_string(limit) + " bytes are taken whole, not " +
                                std::to_string(max_message));
}

std::unique_ptr<SharedQueue> make_socket_queue(int type, const Options& options,
                                               std::size_t max_message, const char* what) {
  int sv[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
  UniqueFd reader(sv[0]), writer(sv[1]);
  // Room for the queue's bytes plus the kernel's per-message overhead.
  const int bytes = static_cast<int>(std::min<std::size_t>(options.buffer_bytes * 2, 4 << 20));
  ::setsockopt(writer.get(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  ::setsockopt(reader.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  int sndbuf = 0;
  socklen_t len = sizeof sndbuf;
  ::getsockopt(writer.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
  check_size(max_message, static_cast<std::size_t>(sndbuf) / 2, what);
  return std::make_unique<FdSharedQueue>(std::move(reader), std::move(writer), true, options,
                                         max_message, what);
}

}  // namespace

std::size_t shared_pipe_max_message() { return PIPE_BUF; }

std::unique_ptr<SharedQueue> make_shared_pipe_queue(const Options& options,
                                                    std::size_t max_message) {
  check_size(max_message, PIPE_BUF, "pipe");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_DIRECT) != 0) throw_errno("pipe2(O_DIRECT)");
  UniqueFd reader(fds[0]), writer(fds[1]);
  // A packet takes a whole pipe buffer (page) however small: ask for as many as the queue's
  // bytes would fill with the largest message (the default is 16; 1 MiB is the
  // unprivileged limit, 256 packets).
  const std::size_t packets = std::max<std::size_t>(options.buffer_bytes / max_message, 16);
  const long want = static_cast<long>(std::min<std::size_t>(packets * 4096, 1 << 20));
  ::fcntl(writer.get(), F_SETPIPE_SZ, want);  // best effort: the default still works
  return std::make_unique<FdSharedQueue>(std::move(reader), std::move(writer), false, options,
                                         max_message, "pipe");
}

std::unique_ptr<SharedQueue> make_shared_dgram_queue(const Options& options,
                                                     std::size_t max_message) {
  return make_socket_queue(SOCK_DGRAM, options, max_message, "uds-dgram");
}

std::unique_ptr<SharedQueue> make_shared_seqpacket_queue(const Options& options,
                                                         std::size_t max_message) {
  return make_socket_queue(SOCK_SEQPACKET, options, max_message, "uds-seqpacket");
}

}  // namespace ipc
