// The `pipe` transport: two anonymous pipes, one per direction.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_pipe_channel(const Options& options);

// For a spawned peer: pipes have no name, so the peer inherits its two ends
// (address "fd:<read>,<write>").
std::unique_ptr<Listener> listen_pipe(const Options& options);
std::unique_ptr<Transport> connect_pipe(const std::string& address, const Options& options);

}  // namespace ipc
