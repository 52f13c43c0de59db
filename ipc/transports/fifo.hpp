// The `fifo` transport: two named pipes (mkfifo) in a private temporary directory.
#pragma once

#include <string>

#include "ipc/core/transport.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {

Channel make_fifo_channel(const Options& options);

// For a spawned peer: the address is the directory holding the two FIFOs; they are
// removed once the peer has opened both.
std::unique_ptr<Listener> listen_fifo(const Options& options);
std::unique_ptr<Transport> connect_fifo(const std::string& address, const Options& options);

// Creates a FIFO at `path` and opens both of its ends in this process (blocking).
FdPair open_fifo(const std::string& path);

}  // namespace ipc
