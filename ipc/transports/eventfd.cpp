#include "ipc/transports/eventfd.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <vector>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

// One direction's control page: the slot's state. Chunks are numbered from 1; the slot
// holds chunk `published` until `consumed` reaches it.
struct Direction {
  alignas(64) std::atomic<std::uint64_t> published{0};
  std::uint32_t size = 0;  // of the published chunk
  std::uint32_t more = 0;  // more chunks of this message follow
  alignas(64) std::atomic<std::uint64_t> consumed{0};
  alignas(64) std::atomic<std::uint32_t> producer_waiting{0};
  alignas(64) std::atomic<std::uint32_t> closed{0};  // used in the a_to_b page only
};
static_assert(sizeof(Direction) <= kPageSize);

// Layout: control a_to_b | control b_to_a | slot a_to_b | slot b_to_a, page-aligned.
std::size_t segment_size(std::size_t slot) { return 2 * kPageSize + 2 * slot; }

std::size_t slot_for(const Options& options) {
  return std::clamp<std::size_t>(options.buffer_bytes, kPageSize, std::size_t{1} << 30) /
         kPageSize * kPageSize;
}

// The shared mapping, unmapped with the last end of this process.
struct Mapping {
  void* addr = MAP_FAILED;
  std::size_t size = 0;
  Mapping(int fd, std::size_t size_) : size(size_) {
    addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) throw_errno("mmap eventfd slots");
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { ::munmap(addr, size); }
  Direction* control(int i) const { return reinterpret_cast<Direction*>(base() + i * kPageSize); }
  std::byte* slot(int i) const {
    return base() + 2 * kPageSize + static_cast<std::size_t>(i) * slot_size();
  }
  std::size_t slot_size() const { return (size - 2 * kPageSize) / 2; }
  std::byte* base() const { return static_cast<std::byte*>(addr); }
};

// The four eventfds: for each direction, "a chunk is published" and "the slot is free".
struct EventFds {
  UniqueFd data[2];
  UniqueFd space[2];
};

UniqueFd make_eventfd() {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
  if (!fd) throw_errno("eventfd");
  return fd;
}

void signal_fd(int fd) noexcept {
  const std::uint64_t one = 1;
  while (::write(fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void wait_fd(int fd) {
  std::uint64_t count;
  while (::read(fd, &count, sizeof count) < 0) {
    if (errno != EINTR) throw_errno("read eventfd");
  }
}

class EventfdTransport final : public Transport {
 public:
  // `out` and `in` are the direction indexes (0: a_to_b, 1: b_to_a).
  EventfdTransport(std::shared_ptr<Mapping> map, std::shared_ptr<EventFds> fds, int out)
      : map_(std::move(map)),
        fds_(std::move(fds)),
        out_(map_->control(out)),
        in_(map_->control(1 - out)),
        out_slot_(map_->slot(out)),
        in_slot_(map_->slot(1 - out)),
        slot_(map_->slot_size()),
        out_data_(fds_->data[out].get()),
        out_space_(fds_->space[out].get()),
        in_data_(fds_->data[1 - out].get()),
        in_space_(fds_->space[1 - out].get()),
        closed_(&map_->control(0)->closed) {}

  void send(std::span<const std::byte> message) override {
    do {
      const std::size_t n = std::min(message.size(), slot_);
      wait_for_space();
      copy_bytes(out_slot_, message.data(), n);
      out_->size = static_cast<std::uint32_t>(n);
      out_->more = n < message.size() ? 1 : 0;
      out_->published.store(++sent_, std::memory_order_release);
      signal_fd(out_data_);
      message = message.subspan(n);
    } while (!message.empty());
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::size_t total = 0;
    bool fits = true;
    for (bool more = true; more;) {
      wait_for_chunk();
      const std::uint32_t n = in_->size;
      more = in_->more != 0;
      if (fits && n <= buffer.size() - total)
        copy_bytes(buffer.data() + total, in_slot_, n);
      else
        fits = false;  // read on to the message's end: the stream stays in step
      total += n;
      // seq_cst: Dekker with the producer's waiting flag.
      in_->consumed.store(++received_, std::memory_order_seq_cst);
      if (in_->producer_waiting.load(std::memory_order_seq_cst) != 0 &&
          in_->producer_waiting.exchange(0) != 0)
        signal_fd(in_space_);
    }
    if (!fits)
      throw MessageError("eventfd: message of " + std::to_string(total) + " bytes does not fit a " +
                         std::to_string(buffer.size()) + "-byte buffer");
    return total;
  }

  void shutdown() noexcept override {
    closed_->store(1, std::memory_order_seq_cst);
    for (int i = 0; i < 2; ++i) {
      signal_fd(fds_->data[i].get());
      signal_fd(fds_->space[i].get());
    }
  }

 private:
  void check_closed() const {
    if (closed_->load(std::memory_order_seq_cst) != 0) throw ClosedError("eventfd: channel closed");
  }

  // The next chunk is published: data first, even after a close.
  void wait_for_chunk() {
    while (in_->published.load(std::memory_order_acquire) == received_) {
      check_closed();
      wait_fd(in_data_);  // a count left from a chunk taken without waiting: look again
    }
  }

  void wait_for_space() {
    if (out_->consumed.load(std::memory_order_acquire) == sent_) {
      check_closed();
      return;
    }
    for (;;) {
      out_->producer_waiting.store(1, std::memory_order_seq_cst);
      if (out_->consumed.load(std::memory_order_seq_cst) == sent_) break;
      try {
        check_closed();
      } catch (...) {
        out_->producer_waiting.store(0);
        throw;
      }
      wait_fd(out_space_);
    }
    out_->producer_waiting.store(0, std::memory_order_relaxed);
    check_closed();
  }

  std::shared_ptr<Mapping> map_;
  std::shared_ptr<EventFds> fds_;
  Direction* out_;
  Direction* in_;
  std::byte* out_slot_;
  std::byte* in_slot_;
  std::size_t slot_;
  int out_data_;
  int out_space_;
  int in_data_;
  int in_space_;
  std::atomic<std::uint32_t>* closed_;
  std::uint64_t sent_ = 0;
  std::uint64_t received_ = 0;
};

UniqueFd make_memfd(std::size_t size) {
  UniqueFd fd(::memfd_create("ipcbench-eventfd", MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create eventfd slots");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) throw_errno("ftruncate eventfd slots");
  return fd;
}

std::shared_ptr<Mapping> make_mapping(int memfd, std::size_t slot) {
  auto map = std::make_shared<Mapping>(memfd, segment_size(slot));
  new (map->control(0)) Direction;
  new (map->control(1)) Direction;
  return map;
}

std::shared_ptr<EventFds> make_fds() {
  auto fds = std::make_shared<EventFds>();
  for (int i = 0; i < 2; ++i) {
    fds->data[i] = make_eventfd();
    fds->space[i] = make_eventfd();
  }
  return fds;
}

UniqueFd dup_fd(int fd) {
  UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy) throw_errno("dup eventfd");
  return copy;
}

}  // namespace

Channel make_eventfd_channel(const Options& options) {
  const std::size_t slot = slot_for(options);
  UniqueFd memfd = make_memfd(segment_size(slot));
  auto map = make_mapping(memfd.get(), slot);  // the mapping outlives the descriptor
  auto fds = make_fds();
  return {std::make_unique<EventfdTransport>(map, fds, 0),
          std::make_unique<EventfdTransport>(map, fds, 1)};
}

std::unique_ptr<Listener> listen_eventfd(const Options& options) {
  const std::size_t slot = slot_for(options);
  UniqueFd memfd = make_memfd(segment_size(slot));
  auto map = make_mapping(memfd.get(), slot);
  auto fds = make_fds();
  std::vector<UniqueFd> theirs;
  theirs.push_back(std::move(memfd));
  for (int i = 0; i < 2; ++i) {
    theirs.push_back(dup_fd(fds->data[i].get()));
    theirs.push_back(dup_fd(fds->space[i].get()));
  }
  return make_inherited_listener(std::make_unique<EventfdTransport>(map, fds, 0),
                                 std::move(theirs));
}

std::unique_ptr<Transport> connect_eventfd(const std::string& address, const Options&) {
  std::vector<UniqueFd> got = take_inherited_fds(address, 5, "eventfd");
  struct stat st {};
  if (::fstat(got[0].get(), &st) != 0) throw_errno("fstat eventfd slots");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size <= 2 * kPageSize || (size - 2 * kPageSize) % (2 * kPageSize) != 0)
    throw std::runtime_error("eventfd " + address + ": not a slot segment (" +
                             std::to_string(size) + " bytes)");
  auto map = std::make_shared<Mapping>(got[0].get(), size);
  auto fds = std::make_shared<EventFds>();
  for (int i = 0; i < 2; ++i) {
    fds->data[i] = std::move(got[1 + 2 * i]);
    fds->space[i] = std::move(got[2 + 2 * i]);
  }
  return std::make_unique<EventfdTransport>(map, fds, 1);
}

}  // namespace ipc
