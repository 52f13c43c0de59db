// The `tcp` transport: one loopback TCP connection (127.0.0.1, ephemeral port, TCP_NODELAY).
#pragma once

#include <utility>

#include "ipc/core/transport.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {

Channel make_tcp_channel(const Options& options);
// A connected loopback pair (client, server), TCP_NODELAY on both.
std::pair<UniqueFd, UniqueFd> tcp_loopback_pair();

// For a spawned peer: the address is "127.0.0.1:<port>"; the listening socket is closed
// once the peer's connection is accepted.
std::unique_ptr<Listener> listen_tcp(const Options& options);
std::unique_ptr<Transport> connect_tcp(const std::string& address, const Options& options);

}  // namespace ipc
