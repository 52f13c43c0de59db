// Shared queues on kernel objects whose reads take whole messages, shared by any number
// of threads and forked processes through one write end and one read end:
//   pipe           pipe2(O_DIRECT): "packet mode" (Linux 3.4+). Each write(2) of at most
//                  PIPE_BUF bytes is one packet, written atomically, and each read(2)
//                  takes exactly one packet, so concurrent readers never split or merge
//                  messages. Larger messages are refused (invalid_argument).
//   uds-dgram      socketpair(AF_UNIX, SOCK_DGRAM): one datagram per message, each
//                  recv(2) takes one whole datagram (MSG_TRUNC tells a cut one).
//   uds-seqpacket  socketpair(AF_UNIX, SOCK_SEQPACKET): the same, connection-oriented.
// The descriptors are non-blocking; a caller that finds the queue empty (full) sleeps in
// poll(2) on it and on an eventfd that close() makes readable, in every process that
// shares it. poll's wake-ups are not exclusive: every sleeping taker wakes for each
// message and all but one go back to sleep, which is part of what these kinds cost.
#pragma once

#include <memory>

#include "ipc/core/shared_queue.hpp"

namespace ipc {

std::unique_ptr<SharedQueue> make_shared_pipe_queue(const Options& options,
                                                    std::size_t max_message);
std::unique_ptr<SharedQueue> make_shared_dgram_queue(const Options& options,
                                                     std::size_t max_message);
std::unique_ptr<SharedQueue> make_shared_seqpacket_queue(const Options& options,
                                                         std::size_t max_message);
// PIPE_BUF: the largest message the packet pipe carries whole.
std::size_t shared_pipe_max_message();

}  // namespace ipc
