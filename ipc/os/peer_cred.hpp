// Who is at the other end of an accepted socket. A listener of ours (an abstract or path
// unix socket, a loopback TCP port) can be reached by any local user; only our own user's
// processes of this run may use it, and anyone else is dropped (closed) by the caller.
#pragma once

#include <sys/types.h>

namespace ipc {

// The root of this run's process tree: the process that loaded the ipc library first
// (ipcbench's main, a spawned peer, a test binary); forked children inherit it.
pid_t run_root_pid() noexcept;

// Is the peer of the connected unix socket `fd` (SO_PEERCRED, as of its connect()) a process
// of our effective uid that is this process, the run's root or a descendant of the root?
bool unix_peer_is_ours(int fd) noexcept;

// Is the peer of the accepted loopback TCP socket `fd` a socket of our effective uid? The
// kernel's socket table says (NETLINK_SOCK_DIAG, the connecting socket looked up by its
// address and port). A same-user process is not told apart from ours: it could signal or
// ptrace us anyway. `diag_fd`: a socket from open_sock_diag() to reuse (else one is opened
// and closed here, a third of the cost on a VM where a system call takes ~1.5 us).
bool tcp_peer_is_ours(int fd, int diag_fd = -1) noexcept;
// A NETLINK_SOCK_DIAG socket for tcp_peer_is_ours, or -1. The caller closes it.
int open_sock_diag() noexcept;

}  // namespace ipc
