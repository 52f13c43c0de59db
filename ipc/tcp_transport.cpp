#include "ipc/tcp_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "ipc/error.hpp"
#include "ipc/framing.hpp"

namespace ipc {
namespace {

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

}  // namespace

Channel make_tcp_channel(const Options&) {
  // Listen on an ephemeral loopback port, connect, accept; the listener is closed
  // at once, so two runs never collide on a port.
  UniqueFd listener = tcp_socket();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  socklen_t len = sizeof addr;
  if (::bind(listener.get(), sa, len) != 0) throw_errno("bind tcp 127.0.0.1:0");
  if (::listen(listener.get(), 1) != 0) throw_errno("listen tcp");
  if (::getsockname(listener.get(), sa, &len) != 0) throw_errno("getsockname tcp");
  UniqueFd client = tcp_socket();
  if (::connect(client.get(), sa, len) != 0)
    throw_errno("connect tcp 127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  UniqueFd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server) throw_errno("accept tcp");
  set_nodelay(client.get());
  set_nodelay(server.get());
  return {make_stream_transport(std::move(client), UniqueFd(), "tcp"),
          make_stream_transport(std::move(server), UniqueFd(), "tcp")};
}

}  // namespace ipc
