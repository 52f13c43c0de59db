#include "ipc/transports/fifo.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "ipc/core/error.hpp"
#include "ipc/os/names.hpp"
#include "ipc/transports/framing.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {

// Opens both ends of the FIFO at `path` in this process: the read end
// non-blocking first (an open for writing blocks until a reader exists), then
// the write end, then the read end is made blocking again.
FdPair open_fifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) throw_errno("mkfifo " + path);
  UniqueFd rd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!rd) throw_errno("open " + path);
  UniqueFd wr(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!wr) throw_errno("open " + path);
  if (::fcntl(rd.get(), F_SETFL, 0) != 0) throw_errno("fcntl " + path);
  return {std::move(rd), std::move(wr)};
}

namespace {

UniqueFd open_path(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd) throw_errno("open " + path);
  return fd;
}

// Sent by the peer once it has opened both FIFOs, so we know when the names can go.
constexpr std::byte kHello{0x48};

// Our ends are opened without blocking: b_to_a for reading (allowed with no writer), and
// a_to_b for writing once a placeholder reader of our own exists; the peer's opens then
// succeed at once too. The placeholder goes in accept(), leaving the peer the only reader.
class FifoListener final : public Listener {
 public:
  explicit FifoListener(const Options&) : dir_(std::make_unique<TempDir>()) {
    for (const char* name : {"a_to_b", "b_to_a"}) {
      std::string path = dir_->entry(name);
      if (::mkfifo(path.c_str(), 0600) != 0) throw_errno("mkfifo " + path);
    }
    read_ = open_path(dir_->path() + "/b_to_a", O_RDONLY | O_NONBLOCK);
    placeholder_ = open_path(dir_->path() + "/a_to_b", O_RDONLY | O_NONBLOCK);
    write_ = open_path(dir_->path() + "/a_to_b", O_WRONLY);
  }

  std::string address() const override { return dir_->path(); }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "fifo " + dir_->path();
    wait_for_peer(read_.get(), POLLIN, abort_fd, timeout, what);
    std::byte hello{};
    if (::read(read_.get(), &hello, 1) != 1 || hello != kHello)
      throw ClosedError(what + ": the peer closed its end before saying hello");
    placeholder_.reset();
    if (::fcntl(read_.get(), F_SETFL, 0) != 0) throw_errno("fcntl " + what);
    dir_.reset();  // both ends are open on both sides: the names can go
    return make_stream_transport(std::move(read_), std::move(write_), "fifo");
  }

 private:
  std::unique_ptr<TempDir> dir_;
  UniqueFd read_;
  UniqueFd placeholder_;
  UniqueFd write_;
};

}  // namespace

Channel make_fifo_channel(const Options&) {
  // Both FIFOs are opened by name, then the names go at once with the directory,
  // so a crash cannot leave them behind; the open descriptors stay valid.
  TempDir dir;
  FdPair a_to_b = open_fifo(dir.entry("a_to_b"));
  FdPair b_to_a = open_fifo(dir.entry("b_to_a"));
  return {make_stream_transport(std::move(b_to_a.read), std::move(a_to_b.write), "fifo"),
          make_stream_transport(std::move(a_to_b.read), std::move(b_to_a.write), "fifo")};
}

std::unique_ptr<Listener> listen_fifo(const Options& options) {
  return std::make_unique<FifoListener>(options);
}

std::unique_ptr<Transport> connect_fifo(const std::string& address, const Options&) {
  // Neither open blocks: the listener holds a writer of a_to_b and a reader of b_to_a.
  UniqueFd rd = open_path(address + "/a_to_b", O_RDONLY);
  UniqueFd wr = open_path(address + "/b_to_a", O_WRONLY);
  write_all(wr.get(), std::span(&kHello, 1), "fifo hello");
  return make_stream_transport(std::move(rd), std::move(wr), "fifo");
}

}  // namespace ipc
