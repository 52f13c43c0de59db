// The `queue` transport: an in-process mutex + condition-variable queue (threads only).
#pragma once

#include "ipc/core/shared_queue.hpp"
#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_queue_channel(const Options& options);

// The same queue shared by any number of threads (Python's Queue.Queue under a pool):
// one deque, one mutex, notify_one per message.
std::unique_ptr<SharedQueue> make_shared_mutex_queue(const Options& options,
                                                     std::size_t max_message);

}  // namespace ipc
