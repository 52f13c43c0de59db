// The iceoryx objects behind one end of an `iceoryx-*` channel, for the raw floor loop
// (ipc/fixtures/iceoryx_floor.cpp), which drives them with iceoryx's API directly. Includes
// iceoryx's headers: include it only where iceoryx is linked (the ipc library).
#pragma once

#include <atomic>
#include <cstdint>

#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "ipc/core/transport.hpp"

namespace ipc {

struct IceoryxPorts {
  iox::popo::UntypedPublisher& publisher;
  iox::popo::UntypedSubscriber& subscriber;
  iox::popo::WaitSet<>* waitset;  // null for IceoryxWait::kSpin
  // Non-zero once this end or the peer's was shut down (Transport::shutdown).
  const std::atomic<std::uint32_t>& closed_here;
  const std::atomic<std::uint32_t>& closed_there;
};

// `end` must come from make_iceoryx_channel or connect/accept of an iceoryx listener; throws
// std::invalid_argument otherwise.
IceoryxPorts iceoryx_ports(Transport& end);

}  // namespace ipc
