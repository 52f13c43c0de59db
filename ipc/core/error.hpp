// Error types shared by every transport, and helpers that turn errno into std::system_error.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace ipc {

// Throws std::system_error for `err`; what() reads "<what>: <strerror(err)>".
[[noreturn]] void throw_system_error(int err, const std::string& what);

// The same for the current errno; call it right after the failing call.
[[noreturn]] inline void throw_errno(const std::string& what) { throw_system_error(errno, what); }

// The peer closed its end, died, or the channel was shut down.
class ClosedError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A blocking operation saw no progress within the configured timeout.
class TimeoutError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A message arrived but is not what was sent: wrong size, order or checksum,
// or larger than the receive buffer.
class MessageError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace ipc
