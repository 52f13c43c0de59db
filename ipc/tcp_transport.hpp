// The `tcp` transport: one loopback TCP connection (127.0.0.1, ephemeral port, TCP_NODELAY).
#pragma once

#include "ipc/transport.hpp"

namespace ipc {

Channel make_tcp_channel(const Options& options);

}  // namespace ipc
