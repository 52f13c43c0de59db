// The `tcp` transport: one loopback TCP connection (127.0.0.1, ephemeral port, TCP_NODELAY).
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_tcp_channel(const Options& options);

// For a spawned peer: the address is "127.0.0.1:<port>"; the listening socket is closed
// once the peer's connection is accepted.
std::unique_ptr<Listener> listen_tcp(const Options& options);
std::unique_ptr<Transport> connect_tcp(const std::string& address, const Options& options);

}  // namespace ipc
