// Listener / Client / Connection, modelled on Python's multiprocessing.connection:
// a Listener bound to an address accepts Connections, Client(address) connects, and a
// Connection sends and receives whole length-prefixed messages of any size.
// Address families: unix (a socket file), unix-abstract (Linux abstract namespace), tcp.
// Namespace ipc::connection, as Python's module: ipc::Listener is the spawn context's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/buffer.hpp"
#include "ipc/names.hpp"
#include "ipc/transport.hpp"
#include "ipc/unique_fd.hpp"

namespace ipc::connection {

enum class Family { kUnix, kUnixAbstract, kTcp };

std::string_view family_name(Family family) noexcept;  // "unix", "unix-abstract", "tcp"
std::optional<Family> parse_family(std::string_view name) noexcept;

struct Address {
  Family family = Family::kUnix;
  std::string name;        // unix: socket path; unix-abstract: name without the NUL
  std::string host;        // tcp only: a numeric IPv4 address
  std::uint16_t port = 0;  // tcp only: 0 asks the Listener for an ephemeral port

  static Address unix_path(std::string path) { return {Family::kUnix, std::move(path), {}, 0}; }
  static Address abstract(std::string name) {
    return {Family::kUnixAbstract, std::move(name), {}, 0};
  }
  static Address tcp(std::string host, std::uint16_t port) {
    return {Family::kTcp, {}, std::move(host), port};
  }
  // "unix:/tmp/x/sock", "unix-abstract:@name", "tcp:127.0.0.1:4242".
  std::string to_string() const;
};

// How long a blocking call (accept, connect, send, recv) may wait; zero means forever,
// as in Python. Implemented with SO_RCVTIMEO/SO_SNDTIMEO: no extra system call per
// message. A call that runs out of time throws TimeoutError.
using Timeout = std::chrono::milliseconds;

// One end of an established connection. Messages are an 8-byte little-endian length
// and the bytes. Also a Transport, so run_pair and the benchmarks can drive it.
class Connection final : public Transport {
 public:
  Connection(UniqueFd fd, std::string what, Timeout timeout);
  ~Connection() override;
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  void send_bytes(std::span<const std::byte> message);
  // Receives one message into `buffer` and returns its size. A message larger than the
  // buffer throws MessageError (it is then consumed, so the stream stays in step).
  std::size_t recv_bytes(std::span<std::byte> buffer);
  // Receives one message of at most `max_size` bytes into a new vector.
  std::vector<std::byte> recv_bytes(std::size_t max_size = std::size_t{1} << 30);
  // Closes the socket now (the destructor does it otherwise). Idempotent.
  void close() noexcept;
  bool closed() const noexcept { return !fd_; }
  int fd() const noexcept { return fd_.get(); }

  // Transport
  void send(std::span<const std::byte> message) override { send_bytes(message); }
  std::size_t recv(std::span<std::byte> buffer) override { return recv_bytes(buffer); }
  void shutdown() noexcept override;
  void on_peer_exit() noexcept override {}  // the kernel ends our reads and writes

 private:
  void check_open(const char* call) const;
  std::size_t read_once(std::byte* dst, std::size_t n);  // 0 at end of file
  std::uint64_t recv_length();
  void read_exact(std::byte* dst, std::size_t n, std::size_t done, std::size_t total,
                  const char* part);
  void discard(std::uint64_t n);

  UniqueFd fd_;
  std::string what_;
  Timeout timeout_;
  AlignedBuffer rbuf_;  // small messages cost one read(2); large ones go straight through
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

// A listening socket. The unix family's socket file is removed when the Listener goes
// (only by the process that bound it, not by a forked copy). Listener::any() picks a
// fresh address: a socket in a private TempDir, "ipcbench-<pid>-<n>" in the abstract
// namespace, or 127.0.0.1 on an ephemeral port.
class Listener {
 public:
  // Binds and listens. Throws std::system_error ("bind unix:/x: Address already in
  // use") if the address is taken; std::invalid_argument for a bad address.
  explicit Listener(const Address& address, Timeout timeout = Timeout::zero(),
                    int backlog = 128);
  static Listener any(Family family, Timeout timeout = Timeout::zero());
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) = delete;
  ~Listener();

  // The bound address (the port filled in for tcp).
  const Address& address() const noexcept { return address_; }
  // Waits for a client. Accepted connections inherit the Listener's timeout.
  Connection accept();
  // Closes the socket and removes a unix socket file now. Idempotent.
  void close() noexcept;
  // Makes a blocked and every later accept() fail with ClosedError, from any thread,
  // without closing the descriptor. Never throws.
  void shutdown() noexcept;

 private:
  Listener(std::unique_ptr<TempDir> dir, const Address& address, Timeout timeout,
           int backlog);

  std::unique_ptr<TempDir> dir_;  // owns the directory of a Listener::any() unix socket
  Address address_;
  Timeout timeout_;
  UniqueFd fd_;
  int owner_pid_;
  bool owns_file_ = false;  // a unix socket file we bound, removed by close()
};

// Connects to a Listener. Throws std::system_error ("connect unix:/x: Connection
// refused"), TimeoutError if the timeout passes.
Connection Client(const Address& address, Timeout timeout = Timeout::zero());

}  // namespace ipc::connection
