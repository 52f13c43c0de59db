// The registry of transports: every one this build has, by name (the table is in
// registry.cpp).
#pragma once

#include <span>
#include <string_view>

#include "ipc/core/shared_queue.hpp"
#include "ipc/core/transport.hpp"

namespace ipc {

// Every registered transport, in a fixed order.
std::span<const TransportInfo> transports();

// Every queue kind that many can share (pool and fan-in scenarios), in a fixed order.
std::span<const SharedQueueInfo> shared_queues();

// Throws std::invalid_argument("unknown transport 'x' (known: pipe, ...)").
const TransportInfo& find_transport(std::string_view name);

}  // namespace ipc
