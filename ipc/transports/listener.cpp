#include "ipc/transports/listener.hpp"

#include <fcntl.h>
#include <poll.h>

#include <charconv>
#include <stdexcept>

#include "ipc/core/error.hpp"

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void peer_gone(const std::string& what) {
  throw ClosedError(what + ": the peer exited before opening its end");
}

class InheritedListener final : public Listener {
 public:
  InheritedListener(std::unique_ptr<Transport> mine, std::vector<UniqueFd> theirs)
      : mine_(std::move(mine)), theirs_(std::move(theirs)) {}

  std::string address() const override {
    std::string out = "fd:";
    for (std::size_t i = 0; i < theirs_.size(); ++i) {
      if (i > 0) out += ',';
      out += std::to_string(theirs_[i].get());
    }
    return out;
  }

  std::vector<int> inherited_fds() const override {
    std::vector<int> out;
    for (const UniqueFd& fd : theirs_) out.push_back(fd.get());
    return out;
  }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds, int) override {
    // The peer has its copies now; ours must go, or its death would not close the channel.
    theirs_.clear();
    return std::move(mine_);
  }

 private:
  std::unique_ptr<Transport> mine_;
  std::vector<UniqueFd> theirs_;
};

}  // namespace

void wait_for_peer(int fd, short events, int abort_fd, std::chrono::milliseconds timeout,
                   const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  pollfd fds[2] = {{fd, events, 0}, {abort_fd, POLLIN, 0}};
  const nfds_t n = abort_fd >= 0 ? 2 : 1;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw TimeoutError(what + ": the peer did not open its end within " +
                         std::to_string(timeout.count()) + " ms");
    int r = ::poll(fds, n, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll " + what);
    }
    // Our own end first: a peer that opened, wrote and exited at once still counts.
    if (fds[0].revents != 0) return;
    if (n == 2 && fds[1].revents != 0) peer_gone(what);
  }
}

void check_peer_alive(int abort_fd, const std::string& what) {
  if (abort_fd < 0) return;
  pollfd p{abort_fd, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) peer_gone(what);
}

std::unique_ptr<Listener> make_inherited_listener(std::unique_ptr<Transport> mine,
                                                  std::vector<UniqueFd> theirs) {
  return std::make_unique<InheritedListener>(std::move(mine), std::move(theirs));
}

std::vector<UniqueFd> take_inherited_fds(const std::string& address, std::size_t count,
                                         const char* what) {
  auto bad = [&] {
    return std::invalid_argument(std::string(what) + ": bad address '" + address +
                                 "' (want fd:<n>" + (count > 1 ? ",<m>" : "") + ")");
  };
  if (address.rfind("fd:", 0) != 0) throw bad();
  std::vector<int> numbers;
  const char* p = address.data() + 3;
  const char* end = address.data() + address.size();
  while (p < end) {
    int fd = -1;
    auto [next, ec] = std::from_chars(p, end, fd);
    if (ec != std::errc() || fd < 0) throw bad();
    numbers.push_back(fd);
    p = next;
    if (p < end && *p++ != ',') throw bad();
  }
  if (numbers.size() != count || address.back() == ',') throw bad();
  std::vector<UniqueFd> out;
  for (int fd : numbers) {
    // Not inherited (a wrong number, or the spawner forgot it): say so, not EBADF later.
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
      throw_errno(std::string(what) + ": inherited descriptor " + std::to_string(fd));
    out.emplace_back(fd);
  }
  return out;
}

}  // namespace ipc
