// The `iceoryx-*` transports: iceoryx 2.0 publish/subscribe with loaned chunks (zero copy:
// the sender writes the message into a chunk of iceoryx's shared memory, the receiver reads
// it there, recv_in_place), one publisher/subscriber pair per direction, lossless
// (ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER + QueueFullPolicy::BLOCK_PRODUCER). The name's
// suffix picks how a receiver waits: busy-polling take(), or a WaitSet.
//
// iceoryx needs its daemon, RouDi. This run starts its own (`iox-roudi` as a child process,
// with a generated config naming pools for every size up to iceoryx_max_message()) the first
// time an iceoryx channel is made, and stops it at exit. iceoryx 2.0 allows one RouDi per
// machine: its names are fixed (/tmp/roudi, /tmp/iox-unique-roudi.lock, /dev/shm/iceoryx_mgmt;
// `--unique-roudi-id` only tags port ids), so concurrent runs take turns (a machine-wide lock)
// and a RouDi not started by ipcbench is an error, never shared or stopped.
#pragma once

#include <memory>
#include <string>

#include "ipc/core/transport.hpp"

namespace ipc {

enum class IceoryxWait {
  kSpin,     // busy-poll take(), yielding the CPU now and then
  kWaitSet,  // block in a WaitSet until the subscriber has data
};

Channel make_iceoryx_channel(const Options& options, IceoryxWait wait);

// For a spawned peer: the address names a small control segment (closed flags) and the
// services; the peer registers with the same RouDi under its own runtime name.
std::unique_ptr<Listener> listen_iceoryx(const Options& options, IceoryxWait wait);
std::unique_ptr<Transport> connect_iceoryx(const std::string& address, const Options& options,
                                           IceoryxWait wait);

// The largest message the generated pools carry (1 MiB).
std::size_t iceoryx_max_message();

// Starts this run's RouDi if it is not running yet, waits until it is ready, and registers
// this process with it (once per process). Throws std::runtime_error naming why not (another
// RouDi running, iox-roudi missing or failing). For the raw floor loop, which uses iceoryx's
// API directly.
void iceoryx_start();

}  // namespace ipc
