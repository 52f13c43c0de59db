#include "ipc/os/peer_cred.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace ipc {
namespace {

// Set when the library is loaded: in ipcbench that is main's process.
const pid_t g_root = ::getpid();

// The parent of `pid` (field 4 of /proc/<pid>/stat), or 0.
pid_t parent_of(pid_t pid) noexcept {
  try {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    const std::size_t close = line.rfind(')');  // the command may contain ')' and spaces
    if (close == std::string::npos || close + 4 > line.size()) return 0;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(line.c_str() + close + 2, "%c %d", &state, &ppid) != 2) return 0;
    return ppid;
  } catch (...) {
    return 0;
  }
}

bool in_run_tree(pid_t pid) noexcept {
  if (pid <= 0) return false;  // 0: the peer is in a pid namespace we cannot see
  if (pid == g_root || pid == ::getpid()) return true;  // the root first: no system call
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    pid = parent_of(pid);
    if (pid == g_root) return true;
  }
  return false;
}

}  // namespace

pid_t run_root_pid() noexcept { return g_root; }

bool unix_peer_is_ours(int fd) noexcept {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred)
    return false;
  return cred.uid == ::geteuid() && in_run_tree(cred.pid);
}

int open_sock_diag() noexcept {
  return ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

bool tcp_peer_is_ours(int fd, int diag_fd) noexcept {
  sockaddr_in local{}, peer{};
  socklen_t llen = sizeof local, plen = sizeof peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0 ||
      ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0 ||
      local.sin_family != AF_INET || peer.sin_family != AF_INET)
    return false;
  const int nl = diag_fd >= 0 ? diag_fd : open_sock_diag();
  if (nl < 0) return false;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } req{};
  req.header.nlmsg_len = sizeof req;
  req.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.header.nlmsg_flags = NLM_F_REQUEST;
  req.request.sdiag_family = AF_INET;
  req.request.sdiag_protocol = IPPROTO_TCP;
  req.request.idiag_states = ~0u;
  // The connecting socket: its own (source) end is our peer, its destination is us.
  req.request.id.idiag_sport = peer.sin_port;
  req.request.id.idiag_dport = local.sin_port;
  req.request.id.idiag_src[0] = peer.sin_addr.s_addr;
  req.request.id.idiag_dst[0] = local.sin_addr.s_addr;
  req.request.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.request.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  bool ours = false;
  if (::sendto(nl, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      static_cast<ssize_t>(sizeof req)) {
    alignas(nlmsghdr) char buf[8192];
    ssize_t n;
    while ((n = ::recv(nl, buf, sizeof buf, 0)) < 0 && errno == EINTR) {
    }
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      const auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      ours = msg->idiag_uid == ::geteuid() && msg->id.idiag_sport == peer.sin_port &&
             msg->id.idiag_dport == local.sin_port;
    }
  }
  if (nl != diag_fd) ::close(nl);
  return ours;
}

}  // namespace ipc
