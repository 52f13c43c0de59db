// The `fifo` transport: two named pipes (mkfifo) in a private temporary directory.
#pragma once

#include "ipc/transport.hpp"

namespace ipc {

Channel make_fifo_channel(const Options& options);

}  // namespace ipc
