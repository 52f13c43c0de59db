#include "ipc/transports/uds.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>

#include "ipc/core/error.hpp"
#include "ipc/transports/framing.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

std::pair<UniqueFd, UniqueFd> socket_pair(int type, const char* what) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0)
    throw_errno(std::string("socketpair ") + what);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// SOCK_SEQPACKET keeps boundaries itself, but a packet must fit the socket buffer,
// so a message goes as packets of at most packet_ bytes; the first carries the total
// length in front, and each is received straight into the caller's buffer.
class SeqpacketTransport final : public Transport {
 public:
  explicit SeqpacketTransport(UniqueFd fd) : fd_(std::move(fd)), packet_(packet_bytes(fd_.get())) {}

  void send(std::span<const std::byte> message) override {
    std::uint64_t len = message.size();
    std::size_t first = std::min(message.size(), packet_ - sizeof len);
    iovec iov[2] = {{&len, sizeof len}, {const_cast<std::byte*>(message.data()), first}};
    send_packet(iov, 2);
    for (std::size_t off = first; off < message.size(); off += packet_) {
      iovec part{const_cast<std::byte*>(message.data()) + off,
                 std::min(packet_, message.size() - off)};
      send_packet(&part, 1);
    }
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::uint64_t len = 0;
    // Packets are received straight into place, each into all the room left (their
    // size is the sender's: a packet larger than that room is MSG_TRUNC, an error).
    iovec iov[2] = {{&len, sizeof len}, {buffer.data(), buffer.size()}};
    bool truncated = false;
    std::size_t got = recv_packet(iov, 2, &truncated);
    if (got < sizeof len) throw MessageError("uds-seqpacket: short packet");
    if (len > buffer.size())
      throw MessageError("uds-seqpacket: message of " + std::to_string(len) +
                         " bytes does not fit a " + std::to_string(buffer.size()) + "-byte buffer");
    std::size_t off = got - sizeof len;
    while (off < len && !truncated) {
      iovec part{buffer.data() + off, len - off};
      off += recv_packet(&part, 1, &truncated);
    }
    if (truncated) throw MessageError("uds-seqpacket: a packet was larger than expected");
    if (off != len) throw MessageError("uds-seqpacket: packets exceed the message length");
    return len;
  }

  void shutdown() noexcept override {
    if (!shut_.exchange(true)) interrupt_fd(fd_.get());  // once: threads may race here
  }
  void on_peer_exit() noexcept override {}  // the kernel ends our reads and writes

 private:
  // The largest packet sent: a 64 KiB message and its prefix go as one, if the socket's
  // send buffer (net.core.wmem_default) allows a packet that large.
  static constexpr std::size_t kMaxPacket = 128 * 1024;
  static std::size_t packet_bytes(int fd) noexcept {
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || sndbuf < 8192) return 4096;
    return std::min(kMaxPacket, static_cast<std::size_t>(sndbuf) - 4096);
  }

  void send_packet(iovec* iov, int n) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    while (::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL) < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE || errno == ECONNRESET)
        throw ClosedError("sendmsg uds-seqpacket: peer closed");
      throw_errno("sendmsg uds-seqpacket");
    }
  }

  std::size_t recv_packet(iovec* iov, int n, bool* truncated) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    for (;;) {
      ssize_t got = ::recvmsg(fd_.get(), &msg, 0);
      if (got > 0) {
        *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
        return static_cast<std::size_t>(got);
      }
      if (got == 0) throw ClosedError("recvmsg uds-seqpacket: peer closed");
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) throw ClosedError("recvmsg uds-seqpacket: peer closed");
      throw_errno("recvmsg uds-seqpacket");
    }
  }

  UniqueFd fd_;
  std::size_t packet_;
  std::atomic<bool> shut_{false};
};

}  // namespace

Channel make_uds_channel(const Options&) {
  auto [a, b] = socket_pair(SOCK_STREAM, "uds");
  return {make_stream_transport(std::move(a), UniqueFd(), "uds"),
          make_stream_transport(std::move(b), UniqueFd(), "uds")};
}

Channel make_uds_seqpacket_channel(const Options&) {
  auto [a, b] = socket_pair(SOCK_SEQPACKET, "uds-seqpacket");
  return {std::make_unique<SeqpacketTransport>(std::move(a)),
          std::make_unique<SeqpacketTransport>(std::move(b))};
}

std::unique_ptr<Listener> listen_uds(const Options&) {
  auto [a, b] = socket_pair(SOCK_STREAM, "uds");
  std::vector<UniqueFd> theirs;
  theirs.push_back(std::move(b));
  return make_inherited_listener(make_stream_transport(std::move(a), UniqueFd(), "uds"),
                                 std::move(theirs));
}

std::unique_ptr<Transport> connect_uds(const std::string& address, const Options&) {
  std::vector<UniqueFd> fds = take_inherited_fds(address, 1, "uds");
  return make_stream_transport(std::move(fds[0]), UniqueFd(), "uds");
}

std::unique_ptr<Listener> listen_uds_seqpacket(const Options&) {
  auto [a, b] = socket_pair(SOCK_SEQPACKET, "uds-seqpacket");
  std::vector<UniqueFd> theirs;
  theirs.push_back(std::move(b));
  return make_inherited_listener(std::make_unique<SeqpacketTransport>(std::move(a)),
                                 std::move(theirs));
}

std::unique_ptr<Transport> connect_uds_seqpacket(const std::string& address, const Options&) {
  std::vector<UniqueFd> fds = take_inherited_fds(address, 1, "uds-seqpacket");
  return std::make_unique<SeqpacketTransport>(std::move(fds[0]));
}

}  // namespace ipc
