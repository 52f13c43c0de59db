// Shared pieces of the Listener implementations (transport.hpp): waiting for a spawned peer
// to open its end, and handing the ends of a nameless transport down by descriptor number.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ipc/core/transport.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {

// Waits until `fd` polls `events`. Throws ClosedError("<what>: the peer exited before
// opening its end") if `abort_fd` (>= 0) polls readable first, TimeoutError after `timeout`.
void wait_for_peer(int fd, short events, int abort_fd, std::chrono::milliseconds timeout,
                   const std::string& what);

// For waits that cannot poll (futex, Boost): throws the same ClosedError if `abort_fd`
// polls readable now.
void check_peer_alive(int abort_fd, const std::string& what);

// A Listener for a transport without names (pipe, socketpair): `mine` is this end, the
// other program inherits `theirs` at the same numbers, and the address is "fd:<n>[,<m>]".
// accept() closes our copies of `theirs` and returns `mine` at once.
std::unique_ptr<Listener> make_inherited_listener(std::unique_ptr<Transport> mine,
                                                  std::vector<UniqueFd> theirs);

// The other side: parses "fd:<n>[,<m>...]" (exactly `count` numbers), checks that each
// is open, makes it close-on-exec again and takes ownership.
std::vector<UniqueFd> take_inherited_fds(const std::string& address, std::size_t count,
                                         const char* what);

}  // namespace ipc
