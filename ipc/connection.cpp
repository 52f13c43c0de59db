#include "ipc/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "ipc/error.hpp"

namespace ipc::connection {
namespace {

constexpr std::size_t kReadBuffer = 64 * 1024;
constexpr std::size_t kLengthBytes = 8;

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SockAddr to_sockaddr(const Address& a) {
  SockAddr out;
  if (a.family == Family::kTcp) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    if (::inet_pton(AF_INET, a.host.c_str(), &in->sin_addr) != 1)
      throw std::invalid_argument("tcp address '" + a.host + "' is not a numeric IPv4 address");
    out.len = sizeof(sockaddr_in);
    return out;
  }
  auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
  un->sun_family = AF_UNIX;
  const bool abstract = a.family == Family::kUnixAbstract;
  // A path needs its terminating NUL; an abstract name starts with one instead.
  const std::size_t max = sizeof un->sun_path - 1;
  if (a.name.empty() || a.name.size() > max)
    throw std::invalid_argument(a.to_string() + ": a unix socket name needs 1 to " +
                                std::to_string(max) + " bytes, not " +
                                std::to_string(a.name.size()));
  std::memcpy(un->sun_path + (abstract ? 1 : 0), a.name.data(), a.name.size());
  out.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + a.name.size() + 1);
  return out;
}

UniqueFd make_socket(Family family, const std::string& what) {
  UniqueFd fd(::socket(family == Family::kTcp ? AF_INET : AF_UNIX,
                       SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket " + what);
  return fd;
}

void set_timeouts(int fd, Timeout timeout, const std::string& what) {
  if (timeout <= Timeout::zero()) return;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
    throw_errno("setsockopt SO_RCVTIMEO/SO_SNDTIMEO " + what);
}

void set_nodelay(int fd, const std::string& what) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    throw_errno("setsockopt TCP_NODELAY " + what);
}

[[noreturn]] void timed_out(const std::string& call, const std::string& what, Timeout t) {
  throw TimeoutError(call + " " + what + ": no progress within " + std::to_string(t.count()) +
                     " ms");
}

}  // namespace

std::string_view family_name(Family family) noexcept {
  switch (family) {
    case Family::kUnix:
      return "unix";
    case Family::kUnixAbstract:
      return "unix-abstract";
    case Family::kTcp:
      return "tcp";
  }
  return "?";
}

std::optional<Family> parse_family(std::string_view name) noexcept {
  for (Family f : {Family::kUnix, Family::kUnixAbstract, Family::kTcp})
    if (family_name(f) == name) return f;
  return std::nullopt;
}

std::string Address::to_string() const {
  switch (family) {
    case Family::kUnix:
      return "unix:" + name;
    case Family::kUnixAbstract:
      return "unix-abstract:@" + name;
    case Family::kTcp:
      return "tcp:" + host + ":" + std::to_string(port);
  }
  return "?";
}

// ---------------------------------------------------------------------------------------
// Connection

Connection::Connection(UniqueFd fd, std::string what, Timeout timeout)
    : fd_(std::move(fd)), what_(std::move(what)), timeout_(timeout), rbuf_(kReadBuffer) {}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

void Connection::close() noexcept { fd_.reset(); }

void Connection::shutdown() noexcept { interrupt_fd(fd_.get()); }

void Connection::check_open(const char* call) const {
  if (!fd_) throw ClosedError(std::string(call) + " " + what_ + ": connection is closed");
}

void Connection::send_bytes(std::span<const std::byte> message) {
  check_open("send_bytes");
  std::uint64_t len = message.size();  // little-endian on every Linux target we build for
  iovec iov[2] = {{&len, sizeof len}, {const_cast<std::byte*>(message.data()), message.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  std::size_t left = sizeof len + message.size();
  while (left > 0) {
    ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) timed_out("send_bytes", what_, timeout_);
      if (err == EPIPE || err == ECONNRESET)
        throw ClosedError("send_bytes " + what_ + ": peer closed");
      throw_system_error(err, "send_bytes " + what_);
    }
    left -= static_cast<std::size_t>(n);
    // Skip what was written (short writes happen for large messages).
    for (auto done = static_cast<std::size_t>(n); done > 0;) {
      std::size_t take = std::min(done, msg.msg_iov->iov_len);
      msg.msg_iov->iov_base = static_cast<char*>(msg.msg_iov->iov_base) + take;
      msg.msg_iov->iov_len -= take;
      done -= take;
      if (msg.msg_iov->iov_len == 0 && msg.msg_iovlen > 1) {
        ++msg.msg_iov;
        --msg.msg_iovlen;
      }
    }
  }
}

std::size_t Connection::read_once(std::byte* dst, std::size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_.get(), dst, n);
    if (got >= 0) return static_cast<std::size_t>(got);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) timed_out("recv_bytes", what_, timeout_);
    if (err == ECONNRESET) return 0;  // the peer went away: the same as end of file
    throw_system_error(err, "recv_bytes " + what_);
  }
}

void Connection::read_exact(std::byte* dst, std::size_t n, std::size_t done,
                            std::size_t total, const char* part) {
  // Buffered bytes first, then straight into the destination.
  std::size_t have = std::min(n, end_ - begin_);
  copy_bytes(dst, rbuf_.data() + begin_, have);  // dst is null for an empty message
  begin_ += have;
  for (std::size_t off = have; off < n;) {
    std::size_t got = read_once(dst + off, n - off);
    if (got == 0)
      throw ClosedError("recv_bytes " + what_ + ": peer closed mid-message (got " +
                        std::to_string(done + off) + " of " + std::to_string(total) + " " +
                        part + " bytes)");
    off += got;
  }
}

std::uint64_t Connection::recv_length() {
  check_open("recv_bytes");
  if (end_ - begin_ < kLengthBytes) {
    // Compact, then one read that usually brings the whole of a small message.
    std::memmove(rbuf_.data(), rbuf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    while (end_ < kLengthBytes) {
      std::size_t got = read_once(rbuf_.data() + end_, rbuf_.size() - end_);
      if (got == 0) {
        if (end_ == 0) throw ClosedError("recv_bytes " + what_ + ": peer closed");
        throw ClosedError("recv_bytes " + what_ + ": peer closed mid-message (got " +
                          std::to_string(end_) + " of 8 length bytes)");
      }
      end_ += got;
    }
  }
  std::uint64_t len;
  std::memcpy(&len, rbuf_.data() + begin_, sizeof len);
  begin_ += sizeof len;
  return len;
}

void Connection::discard(std::uint64_t n) {
  for (std::uint64_t done = 0; done < n;) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, kReadBuffer));
    if (begin_ < end_) {
      chunk = std::min(chunk, end_ - begin_);
      begin_ += chunk;
    } else {
      begin_ = end_ = 0;
      chunk = read_once(rbuf_.data(), chunk);
      if (chunk == 0)
        throw ClosedError("recv_bytes " + what_ + ": peer closed mid-message");
    }
    done += chunk;
  }
}

std::size_t Connection::recv_bytes(std::span<std::byte> buffer) {
  std::uint64_t len = recv_length();
  if (len > buffer.size()) {
    discard(len);
    throw MessageError("recv_bytes " + what_ + ": message of " + std::to_string(len) +
                       " bytes does not fit a " + std::to_string(buffer.size()) +
                       "-byte buffer");
  }
  read_exact(buffer.data(), static_cast<std::size_t>(len), 0, static_cast<std::size_t>(len),
             "message");
  return static_cast<std::size_t>(len);
}

std::vector<std::byte> Connection::recv_bytes(std::size_t max_size) {
  std::uint64_t len = recv_length();
  if (len > max_size) {
    discard(len);
    throw MessageError("recv_bytes " + what_ + ": message of " + std::to_string(len) +
                       " bytes exceeds the maximum of " + std::to_string(max_size));
  }
  std::vector<std::byte> out(static_cast<std::size_t>(len));
  read_exact(out.data(), out.size(), 0, out.size(), "message");
  return out;
}

// ---------------------------------------------------------------------------------------
// Listener

Listener::Listener(const Address& address, Timeout timeout, int backlog)
    : Listener(nullptr, address, timeout, backlog) {}

Listener::Listener(std::unique_ptr<TempDir> dir, const Address& address, Timeout timeout,
                   int backlog)
    : dir_(std::move(dir)), address_(address), timeout_(timeout), owner_pid_(::getpid()) {
  SockAddr sa = to_sockaddr(address_);
  const std::string what = address_.to_string();
  fd_ = make_socket(address_.family, what);
  if (address_.family == Family::kTcp) {
    // As Python does on POSIX: a port in TIME_WAIT may be reused, a listening one not.
    int one = 1;
    if (::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
      throw_errno("setsockopt SO_REUSEADDR " + what);
  }
  if (::bind(fd_.get(), sa.get(), sa.len) != 0) throw_errno("bind " + what);
  owns_file_ = address_.family == Family::kUnix;
  if (::listen(fd_.get(), backlog) != 0) throw_errno("listen " + what);
  if (address_.family == Family::kTcp) {
    sa.len = sizeof sa.storage;
    if (::getsockname(fd_.get(), sa.get(), &sa.len) != 0) throw_errno("getsockname " + what);
    address_.port = ntohs(reinterpret_cast<sockaddr_in*>(&sa.storage)->sin_port);
  }
  set_timeouts(fd_.get(), timeout_, address_.to_string());  // SO_RCVTIMEO bounds accept
}

Listener Listener::any(Family family, Timeout timeout) {
  switch (family) {
    case Family::kUnix: {
      auto dir = std::make_unique<TempDir>();
      Address a = Address::unix_path(dir->path() + "/socket");
      return Listener(std::move(dir), a, timeout, 128);
    }
    case Family::kUnixAbstract:
      return Listener(nullptr, Address::abstract(unique_shm_name().substr(1)), timeout, 128);
    case Family::kTcp:
      break;
  }
  return Listener(nullptr, Address::tcp("127.0.0.1", 0), timeout, 128);
}

Listener::Listener(Listener&& other) noexcept
    : dir_(std::move(other.dir_)),
      address_(other.address_),
      timeout_(other.timeout_),
      fd_(std::move(other.fd_)),
      owner_pid_(other.owner_pid_),
      owns_file_(std::exchange(other.owns_file_, false)) {}

Listener::~Listener() { close(); }

void Listener::close() noexcept {
  fd_.reset();
  if (owns_file_ && ::getpid() == owner_pid_) {
    if (::unlink(address_.name.c_str()) != 0 && errno != ENOENT)
      std::fprintf(stderr, "ipcbench: cannot remove %s: %s\n", address_.name.c_str(),
                   std::strerror(errno));
    owns_file_ = false;
  }
}

void Listener::shutdown() noexcept {
  if (fd_) ::shutdown(fd_.get(), SHUT_RDWR);  // wakes a blocked accept with EINVAL
}

Connection Listener::accept() {
  const std::string what = address_.to_string();
  if (!fd_) throw ClosedError("accept " + what + ": listener is closed");
  int fd;
  while ((fd = ::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC)) < 0) {
    int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) timed_out("accept", what, timeout_);
    if (err == EINVAL) throw ClosedError("accept " + what + ": listener shut down");
    throw_system_error(err, "accept " + what);
  }
  UniqueFd conn(fd);
  if (address_.family == Family::kTcp) set_nodelay(conn.get(), what);
  set_timeouts(conn.get(), timeout_, what);
  return Connection(std::move(conn), what, timeout_);
}

// ---------------------------------------------------------------------------------------
// Client

Connection Client(const Address& address, Timeout timeout) {
  SockAddr sa = to_sockaddr(address);
  const std::string what = address.to_string();
  UniqueFd fd = make_socket(address.family, what);
  set_timeouts(fd.get(), timeout, what);  // SO_SNDTIMEO bounds connect
  if (::connect(fd.get(), sa.get(), sa.len) != 0) {
    int err = errno;
    if (err == EAGAIN || err == EINPROGRESS) timed_out("connect", what, timeout);
    if (err != EINTR) throw_system_error(err, "connect " + what);
    // Interrupted: the connection goes on in the background; wait for its outcome.
    pollfd p{fd.get(), POLLOUT, 0};
    int r;
    while ((r = ::poll(&p, 1, timeout > Timeout::zero() ? static_cast<int>(timeout.count())
                                                         : -1)) < 0 &&
           errno == EINTR) {
    }
    if (r == 0) timed_out("connect", what, timeout);
    socklen_t len = sizeof err;
    if (r < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      throw_errno("connect " + what);
    if (err != 0) throw_system_error(err, "connect " + what);
  }
  if (address.family == Family::kTcp) set_nodelay(fd.get(), what);
  return Connection(std::move(fd), what, timeout);
}

}  // namespace ipc::connection
