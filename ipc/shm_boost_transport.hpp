// The `shm-boost` transport: a pair of boost::interprocess::message_queue in shared memory.
#pragma once

#include "ipc/transport.hpp"

namespace ipc {

Channel make_shm_boost_channel(const Options& options);

}  // namespace ipc
