// The spawn context: the peer is a new program (posix_spawn of an executable in peer mode)
// that shares nothing with us but what its command line says: the transport's address
// and any inherited descriptors. What it runs is a peer entry, found by name.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "ipc/core/transport.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/run/pair.hpp"

namespace ipc {

// A peer function that a spawned program can run by name; `arg` is SpawnOptions::arg.
using PeerEntryFn = void (*)(Transport& transport, std::string_view arg);

// Makes `fn` runnable by name in this program's peer mode. Call it from a static
// initializer (`const bool kRegistered = ipc::register_peer_entry("echo", echo);`) in the
// program that will be spawned. Returns true. A name registered twice is a programming error.
bool register_peer_entry(std::string_view name, PeerEntryFn fn);

// The registered entry, or nullptr.
PeerEntryFn find_peer_entry(std::string_view name) noexcept;

// Call first thing in main(). If argv[1] starts with "--peer=", this process is a spawned
// peer: it arms PR_SET_PDEATHSIG (and exits if the parent is already gone), opens its end
// of the channel, runs the entry and returns the exit code for main: 0, 70 after sending
// its error to the parent, 64 for a bad peer command line. Otherwise returns nullopt.
std::optional<int> run_peer_mode(int argc, char** argv);

// A started peer and our end of the channel.
struct SpawnedPeer {
  ChildProcess child;
  std::unique_ptr<Transport> end;
};

// Creates the channel (spawn.transport->listen), starts the program, and returns once the
// peer has opened its end. Throws PeerError if `spawn` names no transport or entry, if the
// program cannot start ("cannot start the peer: posix_spawn /x: No such file or
// directory"), or exits or fails before opening its end ("peer process exited with code
// 70: unknown peer entry 'x' ...").
SpawnedPeer start_spawned_peer(const SpawnOptions& spawn, std::chrono::milliseconds timeout);

}  // namespace ipc
