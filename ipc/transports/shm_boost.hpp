// The `shm-boost` transport: a pair of boost::interprocess::message_queue in shared memory.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_shm_boost_channel(const Options& options);

// For a spawned peer: the address is the two queues' names ("<a_to_b>,<b_to_a>"); they
// are removed once the peer has opened both (it sends a hello chunk).
std::unique_ptr<Listener> listen_shm_boost(const Options& options);
std::unique_ptr<Transport> connect_shm_boost(const std::string& address, const Options& options);

}  // namespace ipc
