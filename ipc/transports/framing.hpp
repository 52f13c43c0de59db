// Length-prefixed messages over a byte stream (pipe, FIFO, stream socket): the shared
// implementation behind the pipe, fifo, uds and tcp transports.
#pragma once

#include <memory>

#include "ipc/core/transport.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {

// Each message is an 8-byte little-endian length then the bytes, written with one
// write(2) from a copy when they fit 4 KiB, else with one writev. Reads go through a page-aligned
// 64 KiB buffer so a small message costs one read(2); the rest of a large message is read straight
// into the caller's buffer. `read_fd` and `write_fd` may be the same socket; pass an empty UniqueFd
// as `write_fd` then.
std::unique_ptr<Transport> make_stream_transport(UniqueFd read_fd, UniqueFd write_fd,
                                                 const char* what);

}  // namespace ipc
