// The `eventfd` transport: one shared-memory slot per direction, with an eventfd per
// direction for the wake-up (the mechanism many event loops use), to compare with the
// futex-based shm-ring. The sender copies a message into the slot (in chunks of the slot's
// size when larger), publishes it and writes 1 to the direction's eventfd; the receiver
// reads the eventfd when the slot is empty (a blocking read(2)), copies the message out and
// marks the slot free. A sender finding the slot still full says so in shared memory and
// sleeps on a second eventfd, which the receiver writes only then.
//
// The memory is a memfd and the four eventfds have no name: nothing can be left behind.
// A spawned peer inherits the five descriptors (address "fd:<memfd>,<e1>,<e2>,<e3>,<e4>").
// read(2) on an eventfd cannot time out: a stuck wait is ended by shutdown() (a closed flag
// in shared memory, then a write to every eventfd), which the watchdog calls.
#pragma once

#include <string>

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_eventfd_channel(const Options& options);

std::unique_ptr<Listener> listen_eventfd(const Options& options);
std::unique_ptr<Transport> connect_eventfd(const std::string& address, const Options& options);

}  // namespace ipc
