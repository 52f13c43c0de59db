// The `peer-boost-spsc` transport: a public peer in the same run. Two
// boost::lockfree::spsc_queue<std::byte> (Boost 1.74, compile-time capacity, so the
// queue holds no pointer and can live in a shared mapping across fork), one per
// direction, busy-polled; each message is an 8-byte length, then its bytes.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_peer_boost_spsc_channel(const Options& options);

}  // namespace ipc
