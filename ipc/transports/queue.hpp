// The `queue` transport: an in-process mutex + condition-variable queue (threads only).
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_queue_channel(const Options& options);

}  // namespace ipc
