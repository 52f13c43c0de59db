// The nng transports (nng 1.5): one pair1 socket per end (nng's protocol for exactly two
// peers, mono mode: a send waits for the peer instead of dropping; messages of any size
// whole, NNG_OPT_RECVMAXSZ lifted from its 1 MiB default).
//   nng-ipc     ipc:// (a Unix socket) in a private directory /tmp/ipcbench-<pid>-<run id>-XXXXXX
//   nng-tcp     tcp://127.0.0.1 on an ephemeral port
//   nng-inproc  inproc:// between two threads
//
// Not across a fork: nng panics ("nng is not fork-reentrant safe") in a forked child of a
// process that has used it, so these run between threads and, opened by address, with a
// spawned peer (a new program, a fresh library). The sockets are opened with the channel.
// Calls wait in slices (NNG_OPT_RECVTIMEO/NNG_OPT_SENDTIMEO) so that shutdown(), the death
// of the peer process and the timeout are noticed; a message that arrives is taken at once.
#pragma once

#include "ipc/core/transport.hpp"

namespace ipc {

Channel make_nng_ipc_channel(const Options& options);
Channel make_nng_tcp_channel(const Options& options);
Channel make_nng_inproc_channel(const Options& options);

// For a spawned peer: the address is the URL ("ipc:///tmp/ipcbench-<pid>-<run id>-.../nng",
// "tcp://127.0.0.1:<port>"); the socket file goes once the peer has connected.
std::unique_ptr<Listener> listen_nng_ipc(const Options& options);
std::unique_ptr<Transport> connect_nng_ipc(const std::string& address, const Options& options);
std::unique_ptr<Listener> listen_nng_tcp(const Options& options);
std::unique_ptr<Transport> connect_nng_tcp(const std::string& address, const Options& options);

}  // namespace ipc
