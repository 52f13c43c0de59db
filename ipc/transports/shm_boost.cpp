#include "ipc/transports/shm_boost.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/abandoned_lock.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {
namespace {

namespace bip = boost::interprocess;
using Clock = std::chrono::steady_clock;

// Boost's message_queue has a fixed maximum message size, so a message goes as chunks
// of at most kChunk bytes; the first starts with the total length.
constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kQueueDepth = 16;
// Waits are sliced so that shutdown() (a process-local flag) is noticed promptly.
constexpr auto kSlice = boost::posix_time::milliseconds(50);

// Boost keeps a queue's mapping private, and with it the header (mq_hdr_t, whose members are
// public) that holds the queue's mutex and condition variables, which we must reach to free
// them when the peer died holding one. An explicit instantiation may name a private member
// ([temp.spec.general]/6): the pointer to it is taken there, without copying Boost's layout.
using QueueMapping =
    bip::ipcdetail::managed_open_or_create_impl<bip::shared_memory_object, 0, true, false>;
using QueueHeader = bip::ipcdetail::mq_hdr_t<bip::offset_ptr<void>>;
struct MappingMember {
  using type = QueueMapping bip::message_queue::*;
  friend type member_pointer(MappingMember);
};
template <typename Tag, typename Tag::type Member>
struct ExposeMember {
  friend typename Tag::type member_pointer(Tag) { return Member; }
};
template struct ExposeMember<MappingMember, &bip::message_queue::m_shmem>;

QueueHeader& header_of(bip::message_queue& q) {
  return *static_cast<QueueHeader*>((q.*member_pointer(MappingMember{})).get_user_address());
}

// The pthread objects inside Boost's wrappers (each wraps exactly one, Boost 1.74 on POSIX).
template <typename Raw, typename Wrapper>
Raw& raw(Wrapper& w) {
  static_assert(sizeof(Wrapper) == sizeof(Raw));
  return *reinterpret_cast<Raw*>(&w);
}

// One named queue. The process that created the name removes it: at once for a forked
// peer (it shares the mapping), after the peer opened it for a spawned one.
struct NamedQueue {
  std::string name;
  std::unique_ptr<bip::message_queue> queue;
  bool owns_name = false;
  pid_t owner_pid = ::getpid();

  NamedQueue(std::string n, bool create) : name(std::move(n)) {
    // Boost sizes the object with ftruncate: on a full /dev/shm its first touch of a page
    // would be SIGBUS. Check the space first, and allocate every page once it exists.
    if (create)
      require_shm_space(QueueMapping::ManagedOpenOrCreateUserOffset +
                            QueueHeader::get_mem_size(kChunk, kQueueDepth),
                        "boost message_queue " + name);
    try {
      if (create) {
        // 0600: Boost's default is 0644 (it fchmods, so no umask narrows it), which lets
        // any local user read the messages.
        queue = std::make_unique<bip::message_queue>(bip::create_only, name.c_str(), kQueueDepth,
                                                     kChunk, bip::permissions(0600));
        owns_name = true;
        reserve_shm(name);
      } else {
        queue = std::make_unique<bip::message_queue>(bip::open_only, name.c_str());
      }
    } catch (const bip::interprocess_exception& e) {
      // Boost's what() carries only the system text: add the object's name.
      throw std::runtime_error("boost message_queue " + name + ": " + e.what());
    } catch (...) {
      remove_name();  // no destructor runs for a constructor that throws
      throw;
    }
    if (!create && queue->get_max_msg_size() != kChunk)
      throw std::runtime_error("boost message_queue " + name + ": wrong chunk size");
  }
  NamedQueue(const NamedQueue&) = delete;
  NamedQueue& operator=(const NamedQueue&) = delete;
  ~NamedQueue() { remove_name(); }

  void remove_name() noexcept {
    if (!owns_name || ::getpid() != owner_pid) return;
    owns_name = false;
    bip::message_queue::remove(name.c_str());
  }

  // Once the peer is dead: frees the queue's mutex and its condition variables' internal
  // locks if the peer died holding them (they are not robust: we would block on them for
  // ever). If it held the mutex, the queue may be half-updated: `abandoned` is set before a
  // waiter of ours can take the mutex.
  void free_abandoned_locks(std::atomic<bool>& abandoned) noexcept {
    QueueHeader& h = header_of(*queue);
    for (auto* c : {&h.m_cond_recv, &h.m_cond_send})
      if (pthread_cond_t& raw_cond = raw<pthread_cond_t>(*c); cond_lock_abandoned(raw_cond))
        release_abandoned_cond_lock(raw_cond);
    pthread_mutex_t& mutex = raw<pthread_mutex_t>(h.m_mutex);
    if (!mutex_abandoned(mutex)) return;
    abandoned.store(true);
    release_abandoned_mutex(mutex);
  }
};

class BoostQueueTransport final : public Transport {
 public:
  BoostQueueTransport(std::shared_ptr<NamedQueue> out, std::shared_ptr<NamedQueue> in,
                      std::shared_ptr<std::atomic<bool>> closed, std::chrono::milliseconds timeout)
      : out_(std::move(out)),
        in_(std::move(in)),
        closed_(std::move(closed)),
        timeout_(timeout),
        send_chunk_(kChunk),
        recv_chunk_(kChunk) {}

  void send(std::span<const std::byte> message) override {
    std::uint64_t len = message.size();
    std::size_t first = std::min(message.size(), kChunk - sizeof len);
    std::memcpy(send_chunk_.data(), &len, sizeof len);
    copy_bytes(send_chunk_.data() + sizeof len, message.data(), first);
    send_chunk(send_chunk_.data(), sizeof len + first);
    for (std::size_t off = first; off < message.size(); off += kChunk)
      send_chunk(message.data() + off, std::min(kChunk, message.size() - off));
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::size_t got = recv_chunk(recv_chunk_.data());
    std::uint64_t len;
    if (got < sizeof len) throw MessageError("shm-boost: short first chunk");
    std::memcpy(&len, recv_chunk_.data(), sizeof len);
    if (len > buffer.size())
      throw MessageError("shm-boost: message of " + std::to_string(len) + " bytes does not fit a " +
                         std::to_string(buffer.size()) + "-byte buffer");
    std::size_t off = got - sizeof len;
    copy_bytes(buffer.data(), recv_chunk_.data() + sizeof len, off);
    while (off < len) {
      // Boost wants room for a whole chunk: receive in place when there is.
      bool direct = buffer.size() - off >= kChunk;
      std::byte* dst = direct ? buffer.data() + off : recv_chunk_.data();
      std::size_t n = recv_chunk(dst);
      if (off + n > len) throw MessageError("shm-boost: chunks exceed the message length");
      if (!direct) copy_bytes(buffer.data() + off, recv_chunk_.data(), n);
      off += n;
    }
    return len;
  }

  // The flag is per process (a forked copy has its own): it ends both ends in one
  // process, and a parent's end once its child has exited.
  void shutdown() noexcept override { closed_->store(true); }

  // The peer process is dead: besides closing, free the locks it may have died holding, or
  // a call of ours would wait on them for ever (slices do not help: Boost takes the mutex
  // without a timeout, also when a timed wait ends). If it held the mutex, what it left in
  // the queue is not read.
  void on_peer_exit() noexcept override {
    closed_->store(true);
    out_->free_abandoned_locks(abandoned_);
    in_->free_abandoned_locks(abandoned_);
  }

 private:
  template <typename Op>
  void with_deadline(Op op, const char* what) {
    const auto deadline = Clock::now() + timeout_;
    try {
      for (;;) {
        // Data first: a message already queued is delivered even after a close.
        auto slice_end = boost::posix_time::microsec_clock::universal_time() + kSlice;
        const bool done = op(slice_end);
        if (abandoned_.load())
          throw ClosedError("shm-boost: the peer died holding the queue's lock");
        if (done) return;
        if (closed_->load()) throw ClosedError("shm-boost: channel closed");
        if (Clock::now() >= deadline)
          throw TimeoutError(std::string("shm-boost: ") + what + " made no progress within " +
                             std::to_string(timeout_.count()) + " ms");
      }
    } catch (const bip::interprocess_exception& e) {
      throw std::runtime_error(std::string("shm-boost ") + what + " " +
                               (what[0] == 's' ? out_->name : in_->name) + ": " + e.what());
    }
  }

  void send_chunk(const std::byte* data, std::size_t size) {
    with_deadline([&](const auto& until) { return out_->queue->timed_send(data, size, 0, until); },
                  "send");
  }

  std::size_t recv_chunk(std::byte* dst) {
    bip::message_queue::size_type got = 0;
    unsigned priority = 0;
    with_deadline(
        [&](const auto& until) {
          return in_->queue->timed_receive(dst, kChunk, got, priority, until);
        },
        "receive");
    return got;
  }

  std::shared_ptr<NamedQueue> out_;
  std::shared_ptr<NamedQueue> in_;
  std::shared_ptr<std::atomic<bool>> closed_;
  // The peer died holding a queue's mutex (on_peer_exit freed it).
  std::atomic<bool> abandoned_{false};
  std::chrono::milliseconds timeout_;
  // One buffer per direction: one thread may send while another receives.
  AlignedBuffer send_chunk_;
  AlignedBuffer recv_chunk_;
};

// Sent by a spawned peer on b_to_a once it has opened both queues.
constexpr std::byte kHello{0x48};

class BoostListener final : public Listener {
 public:
  explicit BoostListener(const Options& options)
      : a_to_b_(std::make_shared<NamedQueue>(unique_shm_name(), true)),
        b_to_a_(std::make_shared<NamedQueue>(unique_shm_name(), true)),
        timeout_(options.timeout) {}

  std::string address() const override { return a_to_b_->name + "," + b_to_a_->name; }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "shm-boost " + address();
    const auto deadline = Clock::now() + timeout;
    AlignedBuffer hello(kChunk);
    bip::message_queue::size_type got = 0;
    unsigned priority = 0;
    try {
      // Boost cannot poll a descriptor: slices bound how late we notice the peer died.
      for (;;) {
        auto until = boost::posix_time::microsec_clock::universal_time() +
                     boost::posix_time::milliseconds(10);
        if (b_to_a_->queue->timed_receive(hello.data(), kChunk, got, priority, until)) break;
        check_peer_alive(abort_fd, what);
        if (Clock::now() >= deadline)
          throw TimeoutError(what + ": the peer did not open its end within " +
                             std::to_string(timeout.count()) + " ms");
      }
    } catch (const bip::interprocess_exception& e) {
      throw std::runtime_error(what + ": " + e.what());
    }
    if (got != 1 || hello.data()[0] != kHello)
      throw MessageError(what + ": no hello from the peer");
    a_to_b_->remove_name();
    b_to_a_->remove_name();
    return std::make_unique<BoostQueueTransport>(
        a_to_b_, b_to_a_, std::make_shared<std::atomic<bool>>(false), timeout_);
  }

 private:
  std::shared_ptr<NamedQueue> a_to_b_;
  std::shared_ptr<NamedQueue> b_to_a_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<Listener> listen_shm_boost(const Options& options) {
  return std::make_unique<BoostListener>(options);
}

std::unique_ptr<Transport> connect_shm_boost(const std::string& address, const Options& options) {
  auto comma = address.find(',');
  if (comma == std::string::npos)
    throw std::invalid_argument("shm-boost: bad address '" + address +
                                "' (want <a_to_b>,<b_to_a>)");
  auto a_to_b = std::make_shared<NamedQueue>(address.substr(0, comma), false);
  auto b_to_a = std::make_shared<NamedQueue>(address.substr(comma + 1), false);
  try {
    if (!b_to_a->queue->try_send(&kHello, 1, 0))
      throw std::runtime_error("shm-boost " + b_to_a->name + ": queue full at hello");
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error("shm-boost " + b_to_a->name + ": " + e.what());
  }
  return std::make_unique<BoostQueueTransport>(
      b_to_a, a_to_b, std::make_shared<std::atomic<bool>>(false), options.timeout);
}

Channel make_shm_boost_channel(const Options& options) {
  auto a_to_b = std::make_shared<NamedQueue>(unique_shm_name(), true);
  auto b_to_a = std::make_shared<NamedQueue>(unique_shm_name(), true);
  // Forked peers share the mapping; the names are not needed any more.
  a_to_b->remove_name();
  b_to_a->remove_name();
  auto closed = std::make_shared<std::atomic<bool>>(false);
  return {std::make_unique<BoostQueueTransport>(a_to_b, b_to_a, closed, options.timeout),
          std::make_unique<BoostQueueTransport>(b_to_a, a_to_b, closed, options.timeout)};
}

}  // namespace ipc
