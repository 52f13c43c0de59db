#include "ipc/os/unique_fd.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ipc/core/error.hpp"

namespace ipc {

void throw_system_error(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

void UniqueFd::reset(int fd) noexcept {
  // Don't retry close on EINTR: the descriptor is released either way on Linux.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

FdPair make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_pipe_size(int fd, std::size_t bytes) noexcept {
  ::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(bytes));
}

void write_all(int fd, std::span<const std::byte> data, const char* what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EPIPE || err == ECONNRESET)
        throw ClosedError(std::string("write ") + what + ": peer closed");
      throw_system_error(err, std::string("write ") + what);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

std::size_t read_some(int fd, std::span<std::byte> data, const char* what) {
  for (;;) {
    ssize_t n = ::read(fd, data.data(), data.size());
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) throw ClosedError(std::string("read ") + what + ": peer closed");
    int err = errno;
    if (err == EINTR) continue;
    if (err == ECONNRESET) throw ClosedError(std::string("read ") + what + ": peer closed");
    throw_system_error(err, std::string("read ") + what);
  }
}

void read_all(int fd, std::span<std::byte> data, const char* what) {
  while (!data.empty()) data = data.subspan(read_some(fd, data, what));
}

void interrupt_fd(int fd) noexcept {
  if (fd < 0) return;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
  // Put a pipe end whose other end is closed in its place: a read end then reads end
  // of file, a write end fails with EPIPE.
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  bool reads = (flags & O_ACCMODE) == O_RDONLY;
  ::dup3(reads ? p[0] : p[1], fd, O_CLOEXEC);
  ::close(p[0]);
  ::close(p[1]);
}

void require_free_descriptors(int count, const std::string& what) {
  std::vector<UniqueFd> probe;
  for (int i = 0; i < count; ++i) {
    probe.emplace_back(::eventfd(0, EFD_CLOEXEC));
    if (!probe.back()) throw_errno(what);
  }
}

}  // namespace ipc
