// The `uds` (SOCK_STREAM, length-prefixed) and `uds-seqpacket` (SOCK_SEQPACKET)
// transports, each over a socketpair(AF_UNIX).
#pragma once

#include "ipc/transport.hpp"

namespace ipc {

Channel make_uds_channel(const Options& options);
Channel make_uds_seqpacket_channel(const Options& options);

}  // namespace ipc
