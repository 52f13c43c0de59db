// The `uds` (SOCK_STREAM, length-prefixed) and `uds-seqpacket` (SOCK_SEQPACKET)
// transports, each over a socketpair(AF_UNIX).
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_uds_channel(const Options& options);
Channel make_uds_seqpacket_channel(const Options& options);

// For a spawned peer: a socketpair has no name, so the peer inherits its end
// (address "fd:<n>").
std::unique_ptr<Listener> listen_uds(const Options& options);
std::unique_ptr<Transport> connect_uds(const std::string& address, const Options& options);
std::unique_ptr<Listener> listen_uds_seqpacket(const Options& options);
std::unique_ptr<Transport> connect_uds_seqpacket(const std::string& address,
                                                 const Options& options);

}  // namespace ipc
