// UniqueFd: a move-only owner of a file descriptor, and the blocking I/O helpers on it.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace ipc {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the current descriptor (never retried on EINTR) and takes `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

struct FdPair {
  UniqueFd read;
  UniqueFd write;
};

// pipe2(O_CLOEXEC).
FdPair make_pipe();

// The pipe size the pipe and fifo transports (and their raw floors) ask for: a 64 KiB
// message and its length prefix fit at once (the default, 64 KiB, makes the writer
// block in the middle of it and the two sides take turns).
inline constexpr std::size_t kPipeBytes = 256 * 1024;
// F_SETPIPE_SZ on a pipe or FIFO end, best effort: a refusal (the per-user limit,
// /proc/sys/fs/pipe-max-size) leaves the pipe as it was.
void set_pipe_size(int fd, std::size_t bytes) noexcept;

// Writes all of `data`, retrying EINTR and short writes. Throws ClosedError on
// EPIPE/ECONNRESET, std::system_error otherwise. `what` names the object.
void write_all(int fd, std::span<const std::byte> data, const char* what);

// Reads up to data.size() bytes (at least one), retrying EINTR. Throws
// ClosedError at end of file, std::system_error on failure.
std::size_t read_some(int fd, std::span<std::byte> data, const char* what);

// Reads exactly data.size() bytes.
void read_all(int fd, std::span<std::byte> data, const char* what);

// Makes I/O through `fd` fail without closing the number: shutdown() for a socket;
// for a pipe or FIFO end, dup2 of a dead pipe end over it. Its own future reads see
// end of file and writes EPIPE; the other side's blocked reader sees end of file after
// the data (its last writer is gone), its blocked writer EPIPE (its last reader is
// gone). Safe to call from another thread. Never throws.
void interrupt_fd(int fd) noexcept;

// Throws std::system_error (EMFILE: "<what>: Too many open files") unless `count` more
// descriptors can be opened now. For libraries that abort, or report something else,
// when their own threads run out (libzmq, nng): a check before calling them.
void require_free_descriptors(int count, const std::string& what);

}  // namespace ipc
