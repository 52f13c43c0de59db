// The `sysv-mq` transport: two System V message queues (msgget/msgsnd/msgrcv), one per
// direction, what goldsborough/ipc-bench calls "mq". A message is one queue message: the
// kernel caps it at /proc/sys/kernel/msgmax and a queue's bytes at msgmnb; larger messages
// are refused (MessageError naming the limit), never split or truncated.
//
// Removal: IPC_RMID removes a message queue at once (msgctl(2): waiting readers and
// writers fail with EIDRM), unlike a shared-memory segment, which lives on until detached;
// so a queue cannot be removed while the channel uses it. Each queue is removed when the
// channel ends, by the process that created it, and is recorded until then by a marker
// under /tmp (ipc/os/queue_names.hpp) so that a dead run's queues are removed by the next
// run, only when provably ours (key of our form for the dead pid, created by our user).
//
// Ends and close: msgsnd/msgrcv cannot time out, so a stuck call is ended by shutdown()
// or on_peer_exit(): they queue a close message (its own mtype, after the data), and a
// queue too full for it is removed (a blocked writer then fails with EIDRM).
#pragma once

#include <string>

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_sysv_mq_channel(const Options& options);

// For a spawned peer: the address is "<a_to_b id>,<b_to_a id>" (queue ids are global).
std::unique_ptr<Listener> listen_sysv_mq(const Options& options);
std::unique_ptr<Transport> connect_sysv_mq(const std::string& address, const Options& options);

// The largest message: /proc/sys/kernel/msgmax.
std::size_t sysv_mq_max_message();
// "msgmax=<n> msgmnb=<n>" for the JSON context.
std::string sysv_mq_limits();

}  // namespace ipc
