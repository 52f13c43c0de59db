// The ZeroMQ transports (libzmq 4.3 through cppzmq): one PAIR socket per end, the pattern
// ZeroMQ has for exactly two peers (REQ/REP would forbid the stream scenario's one-way
// bursts; PAIR sends both ways in any order, blocks at the high-water mark instead of
// dropping, and carries a message of any size whole).
//   zmq-ipc     ipc:// (a Unix socket) in a private directory /tmp/ipcbench-<pid>-<run id>-XXXXXX
//   zmq-tcp     tcp://127.0.0.1 on an ephemeral port
//   zmq-inproc  inproc:// between two threads of one context (threads only)
//
// Contexts: one per end, made by the thread that first uses the end (ZeroMQ's I/O thread
// inherits that thread's CPU placement, and a context made before a fork is unusable in
// the child); zmq-inproc needs one context for both ends, made with the channel. The
// binding end's listening socket is made at once by us and handed to ZeroMQ (ZMQ_USE_FD)
// when the end is first used, so the other end can connect before that without retries.
// Calls wait in slices (ZMQ_RCVTIMEO/ZMQ_SNDTIMEO) so that shutdown(), the death of the
// peer process and the timeout are noticed; a message that arrives is taken at once.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_zmq_ipc_channel(const Options& options);
Channel make_zmq_tcp_channel(const Options& options);
Channel make_zmq_inproc_channel(const Options& options);

// For a spawned peer: the address is the endpoint ("ipc:///tmp/ipcbench-<pid>-<run id>-.../zmq",
// "tcp://127.0.0.1:<port>"); the socket file goes once the peer has connected.
std::unique_ptr<Listener> listen_zmq_ipc(const Options& options);
std::unique_ptr<Transport> connect_zmq_ipc(const std::string& address, const Options& options);
std::unique_ptr<Listener> listen_zmq_tcp(const Options& options);
std::unique_ptr<Transport> connect_zmq_tcp(const std::string& address, const Options& options);

}  // namespace ipc
