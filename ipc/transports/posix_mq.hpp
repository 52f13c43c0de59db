// The `posix-mq` transport: two POSIX message queues (mq_open), one per direction. A
// message is one queue message: the kernel caps its size at
// /proc/sys/fs/mqueue/msgsize_max, and larger messages are refused (MessageError naming
// the limit), never split or truncated. Queue depth: min(msg_max, buffer_bytes / message
// size). Names are "/ipcbench-<pid>-<run id>-mq-<n>", recorded by a marker so that a dead run's
// queues are removed by the next run (ipc/os/queue_names.hpp); they are unlinked at once
// for a forked peer, once opened for a spawned one.
#pragma once

#include <string>

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_posix_mq_channel(const Options& options);

// For a spawned peer: the address is "<a_to_b name>,<b_to_a name>".
std::unique_ptr<Listener> listen_posix_mq(const Options& options);
std::unique_ptr<Transport> connect_posix_mq(const std::string& address, const Options& options);

// The largest message: /proc/sys/fs/mqueue/msgsize_max.
std::size_t posix_mq_max_message();
// "msgsize_max=<n> msg_max=<n> depth=<n>" for the JSON context.
std::string posix_mq_limits();

}  // namespace ipc
