// The `pipe` transport: two anonymous pipes, one per direction.
#pragma once

#include "ipc/transport.hpp"

namespace ipc {

Channel make_pipe_channel(const Options& options);

}  // namespace ipc
