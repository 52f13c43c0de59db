#include "ipc/floor.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <new>
#include <string>

#include "ipc/buffer.hpp"
#include "ipc/check.hpp"
#include "ipc/error.hpp"
#include "ipc/fifo_transport.hpp"
#include "ipc/names.hpp"
#include "ipc/shm_segment.hpp"

namespace ipc {
namespace {

// A sleeper re-checks `closed` and its deadline at least this often.
constexpr auto kSleepSlice = std::chrono::milliseconds(100);

}  // namespace

void BatonEnd::check(LazyDeadline* deadline) const {
  if (line_->closed.load(std::memory_order_acquire) != 0)
    throw ClosedError("floor baton: channel closed");
  if (deadline != nullptr && deadline->passed())
    throw TimeoutError("floor baton: no progress from the peer within " +
                       std::to_string(timeout_.count()) + " ms");
}

std::uint32_t BatonEnd::take_slow(std::atomic<std::uint32_t>& word) {
  LazyDeadline deadline(timeout_);
  std::uint32_t value;
  if (mode_ == Mode::kSpin) {
    for (std::uint32_t i = 1; (value = word.load(std::memory_order_acquire)) == seen_; ++i) {
      cpu_relax();
      if (i % kYieldEvery == 0) {
        check(&deadline);
        ::sched_yield();
      }
    }
    return value;
  }
  std::atomic<std::uint32_t>& waiting = line_->waiting[1 - side_];
  waiting.store(1, std::memory_order_seq_cst);
  // The clock is read only after a sleep (see LazyDeadline).
  for (bool slept = false; (value = word.load(std::memory_order_seq_cst)) == seen_;
       slept = true) {
    try {
      check(slept ? &deadline : nullptr);
    } catch (...) {
      waiting.store(0, std::memory_order_relaxed);
      throw;
    }
    futex_wait(futex_word(word), seen_, deadline.left(kSleepSlice));
  }
  waiting.store(0, std::memory_order_relaxed);
  return value;
}

void BatonEnd::shutdown() noexcept {
  line_->closed.store(1, std::memory_order_seq_cst);
  for (int side : {0, 1}) {
    futex_wake(futex_word(line_->word[side]));
    for (int i = 0; i < slots_; ++i) futex_wake(futex_word(line_->slot[side][i].ready));
  }
}

Channel make_baton_channel(const Options& options, BatonEnd::Mode mode, int slots) {
  IPC_CHECK(slots >= 1 && slots <= BatonEnd::kRingSlots, "baton: bad slot count");
  const std::size_t size = (sizeof(BatonEnd::Line) + kPageSize - 1) / kPageSize * kPageSize;
  auto segment = std::make_shared<ShmSegment>(ShmSegment::create(unique_shm_name(), size));
  segment->unlink();  // forked peers inherit the mapping
  auto* line = new (segment->data()) BatonEnd::Line{};
  std::shared_ptr<void> keep = segment;
  return {std::make_unique<BatonEnd>(keep, line, 0, mode, slots, options.timeout),
          std::make_unique<BatonEnd>(keep, line, 1, mode, slots, options.timeout)};
}

RawFdEnd::RawFdEnd(UniqueFd read_fd, UniqueFd write_fd, bool socket, const char* what)
    : read_fd_(std::move(read_fd)), write_fd_(std::move(write_fd)), socket_(socket),
      what_(what) {
  // A pipe has no MSG_NOSIGNAL: a write to a closed pipe must give EPIPE, not kill us.
  if (!socket_) {
    struct sigaction old{};
    if (::sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
      ::signal(SIGPIPE, SIG_IGN);
  }
}

std::size_t RawFdEnd::write_once(std::span<const std::byte> data) {
  for (;;) {
    ssize_t n = socket_ ? ::send(read_fd_.get(), data.data(), data.size(), MSG_NOSIGNAL)
                        : ::write(write_fd_.get(), data.data(), data.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == EPIPE || err == ECONNRESET)
      throw ClosedError(std::string("write ") + what_ + ": peer closed");
    throw_system_error(err, std::string("write ") + what_);
  }
}

std::size_t RawFdEnd::read_once(std::span<std::byte> data) {
  for (;;) {
    ssize_t n = ::read(read_fd_.get(), data.data(), data.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    int err = errno;
    if (err == EINTR) continue;
    if (err == ECONNRESET) return 0;
    throw_system_error(err, std::string("read ") + what_);
  }
}

void RawFdEnd::end_stream() noexcept {
  if (socket_)
    ::shutdown(read_fd_.get(), SHUT_WR);
  else
    interrupt_fd(write_fd_.get());
}

void RawFdEnd::send(std::span<const std::byte> message) {
  if (message.empty()) {
    end_stream();
    return;
  }
  if (write_once(message) != message.size())
    throw MessageError(std::string(what_) + ": short write");
}

void RawFdEnd::shutdown() noexcept {
  if (shut_.exchange(true)) return;  // once: several threads may race to end a pair
  interrupt_fd(read_fd_.get());
  if (write_fd_) interrupt_fd(write_fd_.get());
}

Channel make_raw_pipe_channel(const Options&) {
  FdPair a_to_b = make_pipe();
  FdPair b_to_a = make_pipe();
  return {std::make_unique<RawFdEnd>(std::move(b_to_a.read), std::move(a_to_b.write), false,
                                     "pipe-raw"),
          std::make_unique<RawFdEnd>(std::move(a_to_b.read), std::move(b_to_a.write), false,
                                     "pipe-raw")};
}

Channel make_raw_fifo_channel(const Options&) {
  TempDir dir;  // the names go with it; the open descriptors stay valid
  FdPair a_to_b = open_fifo(dir.path() + "/a_to_b");
  FdPair b_to_a = open_fifo(dir.path() + "/b_to_a");
  return {std::make_unique<RawFdEnd>(std::move(b_to_a.read), std::move(a_to_b.write), false,
                                     "fifo-raw"),
          std::make_unique<RawFdEnd>(std::move(a_to_b.read), std::move(b_to_a.write), false,
                                     "fifo-raw")};
}

Channel make_raw_uds_channel(const Options&) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw_errno("socketpair uds-raw");
  return {std::make_unique<RawFdEnd>(UniqueFd(fds[0]), UniqueFd(), true, "uds-raw"),
          std::make_unique<RawFdEnd>(UniqueFd(fds[1]), UniqueFd(), true, "uds-raw")};
}

}  // namespace ipc
