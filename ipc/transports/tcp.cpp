#include "ipc/transports/tcp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

#include "ipc/core/error.hpp"
#include "ipc/os/peer_cred.hpp"
#include "ipc/transports/framing.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

using namespace std::chrono_literals;

UniqueFd tcp_socket() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket tcp");
  return fd;
}

void set_nodelay(int fd) {
  int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    throw_errno("setsockopt TCP_NODELAY");
}

// Binds a listening socket to 127.0.0.1 on an ephemeral port; fills `addr`.
UniqueFd listen_loopback(sockaddr_in& addr) {
  UniqueFd listener = tcp_socket();
  addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), sa, len) != 0) throw_errno("bind tcp 127.0.0.1:0");
  // Room for our one client beside strangers that connect first (they are dropped).
  if (::listen(listener.get(), 16) != 0) throw_errno("listen tcp");
  if (::getsockname(listener.get(), sa, &len) != 0) throw_errno("getsockname tcp");
  return listener;
}

class TcpListener final : public Listener {
 public:
  explicit TcpListener(const Options&) : listener_(listen_loopback(addr_)) {}

  std::string address() const override {
    return "127.0.0.1:" + std::to_string(ntohs(addr_.sin_port));
  }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    UniqueFd server;
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms)  // strangers took the time
        throw TimeoutError("tcp " + address() + ": the peer did not open its end within " +
                           std::to_string(timeout.count()) + " ms");
      wait_for_peer(listener_.get(), POLLIN, abort_fd, left, "tcp " + address());
      server.reset(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!server) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        throw_errno("accept tcp " + address());
      }
      // Any local user can connect to a loopback port: only our user's socket is the peer.
      if (tcp_peer_is_ours(server.get())) break;
      server.reset();
    }
    listener_.reset();
    set_nodelay(server.get());
    return make_stream_transport(std::move(server), UniqueFd(), "tcp");
  }

 private:
  sockaddr_in addr_{};
  UniqueFd listener_;
};

}  // namespace

std::unique_ptr<Listener> listen_tcp(const Options& options) {
  return std::make_unique<TcpListener>(options);
}

std::unique_ptr<Transport> connect_tcp(const std::string& address, const Options&) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  auto colon = address.rfind(':');
  int port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535 ||
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1)
    throw std::invalid_argument("tcp: bad address '" + address + "' (want <ipv4>:<port>)");
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  UniqueFd client = tcp_socket();
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("connect tcp " + address);
  set_nodelay(client.get());
  return make_stream_transport(std::move(client), UniqueFd(), "tcp");
}

std::pair<UniqueFd, UniqueFd> tcp_loopback_pair() {
  // Listen on an ephemeral loopback port, connect, accept; the listener is closed
  // at once, so two runs never collide on a port.
  sockaddr_in addr{};
  UniqueFd listener = listen_loopback(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  socklen_t len = sizeof addr;
  UniqueFd client = tcp_socket();
  if (::connect(client.get(), sa, len) != 0)
    throw_errno("connect tcp 127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  // The accepted connection must be our client's (any local user can connect to the port
  // meanwhile): its peer address is our client's own address, else it is dropped.
  sockaddr_in mine{};
  len = sizeof mine;
  if (::getsockname(client.get(), reinterpret_cast<sockaddr*>(&mine), &len) != 0)
    throw_errno("getsockname tcp");
  UniqueFd server;
  for (;;) {
    server.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!server) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      throw_errno("accept tcp");
    }
    sockaddr_in from{};
    len = sizeof from;
    if (::getpeername(server.get(), reinterpret_cast<sockaddr*>(&from), &len) == 0 &&
        from.sin_port == mine.sin_port && from.sin_addr.s_addr == mine.sin_addr.s_addr)
      break;
  }
  set_nodelay(client.get());
  set_nodelay(server.get());
  return {std::move(client), std::move(server)};
}

Channel make_tcp_channel(const Options&) {
  auto [client, server] = tcp_loopback_pair();
  return {make_stream_transport(std::move(client), UniqueFd(), "tcp"),
          make_stream_transport(std::move(server), UniqueFd(), "tcp")};
}

}  // namespace ipc
