#include "ipc/transports/framing.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"

namespace ipc {
namespace {

constexpr std::size_t kReadBuffer = 64 * 1024;
// Messages up to this size with their length prefix are copied and written at once.
constexpr std::size_t kSmallSend = 4096;

class StreamTransport final : public Transport {
 public:
  StreamTransport(UniqueFd read_fd, UniqueFd write_fd, const char* what)
      : read_fd_(std::move(read_fd)),
        write_fd_(std::move(write_fd)),
        wfd_(write_fd_ ? write_fd_.get() : read_fd_.get()),
        what_(what),
        is_socket_(is_socket(wfd_)),
        rbuf_(kReadBuffer),
        sbuf_(kSmallSend) {
    // A pipe has no MSG_NOSIGNAL: a write to a closed pipe must give EPIPE, not kill us.
    if (!is_socket_) {
      ignore_sigpipe();
      set_pipe_size(wfd_, kPipeBytes);  // a 64 KiB message and its prefix at once
    }
  }

  ~StreamTransport() override = default;

  void send(std::span<const std::byte> message) override {
    std::uint64_t len = message.size();
    // A small message goes out as one contiguous write(2)/send(2), like the raw floor
    // loop: writev/sendmsg first copy and check an iovec array (and a msghdr), which
    // cost more in the kernel than copying a few hundred bytes here.
    if (sizeof len + message.size() <= sbuf_.size()) {
      std::memcpy(sbuf_.data(), &len, sizeof len);
      copy_bytes(sbuf_.data() + sizeof len, message.data(), message.size());
      write_contiguous({sbuf_.data(), sizeof len + message.size()});
      return;
    }
    iovec iov[2] = {{&len, sizeof len}, {const_cast<std::byte*>(message.data()), message.size()}};
    std::size_t total = sizeof len + message.size();
    int idx = 0;
    while (total > 0) {
      ssize_t n = write_iov(iov + idx, 2 - idx);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET)
          throw ClosedError(std::string("writev ") + what_ + ": peer closed");
        throw_errno(std::string("writev ") + what_);
      }
      total -= static_cast<std::size_t>(n);
      // Skip what was written: a short write is rare (large messages only).
      for (auto left = static_cast<std::size_t>(n); left > 0;) {
        std::size_t take = std::min(left, iov[idx].iov_len);
        iov[idx].iov_base = static_cast<char*>(iov[idx].iov_base) + take;
        iov[idx].iov_len -= take;
        left -= take;
        if (iov[idx].iov_len == 0 && idx < 1) ++idx;
      }
    }
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    if (begin_ == end_) return recv_direct(buffer);
    std::uint64_t len;
    fill(sizeof len);
    std::memcpy(&len, rbuf_.data() + begin_, sizeof len);
    begin_ += sizeof len;
    check_fits(len, buffer);
    std::size_t have = std::min<std::size_t>(end_ - begin_, len);
    copy_bytes(buffer.data(), rbuf_.data() + begin_, have);
    begin_ += have;
    read_all(read_fd_.get(), buffer.subspan(have, len - have), what_);
    return len;
  }

  void shutdown() noexcept override {
    if (shut_.exchange(true)) return;  // once: several threads may race to end a pair
    interrupt_fd(read_fd_.get());
    if (write_fd_) interrupt_fd(write_fd_.get());
  }

  void on_peer_exit() noexcept override {}  // the kernel ends our reads and writes

 private:
  static bool is_socket(int fd) noexcept {
    struct stat st;
    return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  }

  static void ignore_sigpipe() noexcept {
    static const bool done = [] {
      struct sigaction old {};
      if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
        ::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    (void)done;
  }

  void write_contiguous(std::span<const std::byte> data) {
    while (!data.empty()) {
      ssize_t n = is_socket_ ? ::send(wfd_, data.data(), data.size(), MSG_NOSIGNAL)
                             : ::write(wfd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET)
          throw ClosedError(std::string("write ") + what_ + ": peer closed");
        throw_errno(std::string("write ") + what_);
      }
      data = data.subspan(static_cast<std::size_t>(n));
    }
  }

  ssize_t write_iov(iovec* iov, int n) noexcept {
    if (!is_socket_) return ::writev(wfd_, iov, n);
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    return ::sendmsg(wfd_, &msg, MSG_NOSIGNAL);
  }

  void check_fits(std::uint64_t len, std::span<std::byte> buffer) const {
    if (len > buffer.size())
      throw MessageError(std::string(what_) + ": message of " + std::to_string(len) +
                         " bytes does not fit a " + std::to_string(buffer.size()) + "-byte buffer");
  }

  // Nothing buffered: one readv(2) puts the length prefix in `len`, the payload straight
  // into the caller's buffer (no copy; when the buffer is the message's size, exactly the
  // frame) and whatever follows, already sent, into the read buffer for the next calls.
  std::size_t recv_direct(std::span<std::byte> buffer) {
    std::uint64_t len = 0;
    // What follows this message can fill the read buffer at most: a small buffer is
    // followed by half of it; a large one is read into up to its first kReadBuffer
    // bytes here (the rest of a large message goes straight in below).
    const bool small = buffer.size() <= kReadBuffer / 2;
    iovec iov[3] = {{&len, sizeof len},
                    {buffer.data(), small ? buffer.size() : std::min(buffer.size(), kReadBuffer)},
                    {rbuf_.data(), small ? kReadBuffer / 2 : 0}};
    std::size_t got = 0;
    // Rarely more than once: only a prefix split across two writes' arrival.
    while (got < sizeof len) {
      int first = 0;
      std::size_t skip = got;
      while (skip >= iov[first].iov_len) skip -= iov[first++].iov_len;
      iovec rest[3];
      int n = 0;
      for (int i = first; i < 3; ++i)
        if (iov[i].iov_len > 0) rest[n++] = iov[i];
      rest[0].iov_base = static_cast<char*>(rest[0].iov_base) + skip;
      rest[0].iov_len -= skip;
      got += read_iov(rest, n);
    }
    check_fits(len, buffer);
    const std::size_t body = got - sizeof len;  // of which past the buffer: in rbuf_
    if (body <= len) {
      read_all(read_fd_.get(), buffer.subspan(body, len - body), what_);
      return len;
    }
    // Read past this message: its successors' bytes go to the read buffer, in order.
    const std::size_t in_buffer = std::min(body, iov[1].iov_len) - len;
    const std::size_t in_rbuf = body - std::min(body, iov[1].iov_len);
    if (in_buffer > 0) {
      std::memmove(rbuf_.data() + in_buffer, rbuf_.data(), in_rbuf);
      std::memcpy(rbuf_.data(), buffer.data() + len, in_buffer);
    }
    begin_ = 0;
    end_ = in_buffer + in_rbuf;
    return len;
  }

  // One readv(2) of at least one byte, retrying EINTR; ClosedError at end of stream.
  std::size_t read_iov(iovec* iov, int n) {
    for (;;) {
      ssize_t got = ::readv(read_fd_.get(), iov, n);
      if (got > 0) return static_cast<std::size_t>(got);
      if (got == 0) throw ClosedError(std::string("read ") + what_ + ": peer closed");
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) throw ClosedError(std::string("read ") + what_ + ": peer closed");
      throw_errno(std::string("read ") + what_);
    }
  }

  // Ensures at least `need` buffered bytes, compacting the buffer first if needed.
  void fill(std::size_t need) {
    if (end_ - begin_ >= need) return;
    if (begin_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    while (end_ < need) end_ += read_some(read_fd_.get(), rbuf_.span().subspan(end_), what_);
  }

  UniqueFd read_fd_;
  UniqueFd write_fd_;
  int wfd_;
  const char* what_;
  bool is_socket_;
  AlignedBuffer rbuf_;
  AlignedBuffer sbuf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::atomic<bool> shut_{false};
};

}  // namespace

std::unique_ptr<Transport> make_stream_transport(UniqueFd read_fd, UniqueFd write_fd,
                                                 const char* what) {
  return std::make_unique<StreamTransport>(std::move(read_fd), std::move(write_fd), what);
}

}  // namespace ipc
