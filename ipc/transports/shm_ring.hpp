// The `shm-ring` transports: our own single-producer single-consumer byte ring in a
// shared-memory mapping, one ring per direction, messages of any size (streamed through
// the ring when larger than it). The name's suffix picks how a waiting side waits.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

enum class WaitStrategy {
  kSpin,           // busy-poll, yielding the CPU now and then so one core still progresses
  kFutex,          // sleep in futex(2) at once
  kSpinThenFutex,  // a short bounded spin (none while the other end is on our CPU), then futex
};

Channel make_shm_ring_channel(const Options& options, WaitStrategy wait);

// For a spawned peer: the address is the segment's name; it is unlinked once the peer
// has mapped it (the peer raises a flag in the segment).
std::unique_ptr<Listener> listen_shm_ring(const Options& options, WaitStrategy wait);
std::unique_ptr<Transport> connect_shm_ring(const std::string& address, const Options& options,
                                            WaitStrategy wait);

}  // namespace ipc
