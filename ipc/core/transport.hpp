// The one interface every transport implements, and what the registry knows of each
// (ipc/transports/registry.hpp lists them).
#pragma once

#include <stdexcept>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipc {

// One end of a duplex, message-oriented, blocking channel between two peers.
// Message boundaries are preserved; a message may be empty. Blocking calls
// throw TimeoutError after Options::timeout without progress, ClosedError once
// the other end is gone or shutdown() was called. Full duplex: one thread may be in
// send() while another is in recv() on the same end (an open-loop sender and its receive
// thread); two threads in send(), or two in recv(), are not allowed.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(std::span<const std::byte> message) = 0;
  // Receives one message into `buffer` and returns its size. Throws
  // MessageError if the message does not fit.
  virtual std::size_t recv(std::span<std::byte> buffer) = 0;
  // Receives one message and returns a view of it: in the transport's own memory if it has
  // some (zero copy: an iceoryx chunk), valid until the next recv or recv_in_place on this
  // end; otherwise copied into `buffer`. The same errors as recv.
  virtual std::span<const std::byte> recv_in_place(std::span<std::byte> buffer) {
    return buffer.first(recv(buffer));
  }
  // Ends this end: its blocked and future calls fail promptly with ClosedError, and
  // the other end sees the close after the data already sent (for in-memory transports,
  // both ends are closed). Callable from any thread; never throws.
  virtual void shutdown() noexcept = 0;
  // The peer process has exited: blocked calls on this end must end once the data it
  // sent has been read. Transports whose descriptors already report the peer's exit
  // (end of file, EPIPE) override this with nothing.
  virtual void on_peer_exit() noexcept { shutdown(); }
};

// Both ends of a channel, created before the peer starts. After a fork, the
// parent keeps `a` and the child keeps `b`.
struct Channel {
  std::unique_ptr<Transport> a;
  std::unique_ptr<Transport> b;
};

struct Options {
  // How long a blocking call may wait without progress.
  std::chrono::milliseconds timeout{5000};
  // Bytes of buffer per direction for the shared-memory and queue transports.
  std::size_t buffer_bytes = 256 * 1024;
};

using ChannelFactory = Channel (*)(const Options&);

// The creating side of a channel for a peer that shares nothing with this process (a
// spawned program): it creates the objects, says how the other program reaches them
// (address()), and owns their names until accept() or its destructor removes them.
class Listener {
 public:
  virtual ~Listener() = default;
  // What the other program passes to TransportInfo::connect.
  virtual std::string address() const = 0;
  // Descriptors the other program must inherit, at the same numbers: the ends of a
  // transport that has no name (pipe, socketpair). Empty for named objects.
  virtual std::vector<int> inherited_fds() const { return {}; }
  // Call once, after the other program was started: waits until it has opened its end,
  // removes the names (and closes our copies of inherited descriptors), and returns this
  // end. Throws ClosedError if `abort_fd` (the peer's pidfd; -1 for none) polls readable
  // first, TimeoutError after `timeout`.
  virtual std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) = 0;
};

using ListenFn = std::unique_ptr<Listener> (*)(const Options&);
// Opens the other end of a channel from Listener::address(), in another program.
using ConnectFn = std::unique_ptr<Transport> (*)(const std::string& address, const Options&);

// Throws std::invalid_argument("<name>: bad address '...' (want <scheme>...)") unless
// `address` is `scheme` followed by something (a spawned peer's ConnectFn checks with it).
inline void require_scheme(const std::string& address, std::string_view scheme,
                           std::string_view name) {
  if (address.rfind(scheme, 0) != 0 || address.size() == scheme.size())
    throw std::invalid_argument(std::string(name) + ": bad address '" + address + "' (want " +
                                std::string(scheme) + "...)");
}

struct TransportInfo {
  std::string_view name;
  ChannelFactory make;
  // Can the two ends be used from two processes after a fork?
  bool cross_process;
  std::string_view summary;
  // Opening by address, for a spawned peer; both null when the transport cannot do it.
  ListenFn listen = nullptr;
  ConnectFn connect = nullptr;
  // Does a waiting end busy-poll without ever sleeping? Such a transport still makes
  // progress on one CPU (it yields), but is not measured with both peers on one CPU.
  bool busy_polls = false;
  // Does a waiting end spin for a while before it sleeps? Across CPUs such a transport is
  // often served while spinning, so its floor is the cache line's, not the futex's.
  bool spins_first = false;
  // Measured in the start-up scenario (one transport of each family, not every variant).
  bool startup = false;
  // The largest message it can carry, in bytes, read from the system when asked (e.g. a
  // kernel limit); null: no limit. Larger sizes are skipped with a message naming it.
  std::size_t (*max_message)() = nullptr;
  // The system limits it runs under, as one line for the JSON context (e.g. a kernel
  // queue's message size and depth); null: none worth stating.
  std::string (*limits)() = nullptr;
  // Can one thread send while another receives on the same end (the load scenario)?
  // ZeroMQ sockets are not thread-safe: a send and a receive at once may hang.
  bool full_duplex = true;
};

}  // namespace ipc
