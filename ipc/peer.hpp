// Execution contexts: run the peer side of a channel as a thread, a forked process or a
// spawned program, with the same code, and detect a peer that fails, dies or hangs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ipc/cpu.hpp"
#include "ipc/fault.hpp"
#include "ipc/transport.hpp"

namespace ipc {

// kSpawn: a new program (posix_spawn, see ipc/spawn.hpp) that shares nothing with us but
// the channel's address (names, a port, inherited descriptors).
enum class Context { kThread, kProcess, kSpawn };

std::string_view context_name(Context context) noexcept;
std::optional<Context> parse_context(std::string_view name) noexcept;

// The main side beats once per unit of progress (a round trip, a message); a watchdog
// declares the pair hung when no beat comes for the timeout.
class Heartbeat {
 public:
  // One writer (the main side): a plain load and store, not a locked read-modify-write,
  // which would cost ~5 ns per round trip of a busy-polled transport.
  void beat() noexcept {
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> count_{0};
};

// Why a pair failed: the peer's error, exit status or signal, a hang, or main's error.
class PeerError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// How a pair runs. New knobs (CPU placement, ...) go here, not into run_pair's signature.
// kSpawn: which program runs the peer, what it runs there, and how it reaches us.
struct SpawnOptions {
  // A program that calls run_peer_mode() first thing; by default this very executable.
  std::string executable = "/proc/self/exe";
  // The peer entry (register_peer_entry) it runs there, and the argument it gets.
  std::string entry;
  std::string arg;
  // The channel: opened by address (TransportInfo::listen/connect) with these options.
  const TransportInfo* transport = nullptr;
  Options transport_options{};
  // The CPU the peer pins itself to first thing (sched_setaffinity); -1: not pinned.
  int peer_cpu = -1;
};

struct PairOptions {
  // A pair that makes no progress (no heartbeat) for this long is hung.
  std::chrono::milliseconds timeout{5000};
  // Where the two peers run (threads and forked processes alike). A placement that
  // cannot be had throws PinError before anything starts.
  Pin pin = Pin::kNone;
  // Also called, from the watchdog, when a process peer exits or is killed as hung, after
  // channel.a.on_peer_exit(): for other transports the peer serves (e.g. a server with a
  // channel per client), which must learn of its death too. Must not throw.
  std::function<void()> on_peer_exit = nullptr;
  // Test only: a fault for the peer's end (fault.hpp). When none, the armed test fault
  // applies, if any (never in a normal run).
  Fault fault{};
  // kSpawn only (run_pair's `channel` and `peer` are unused then); see run_named_pair.
  SpawnOptions spawn{};
};

using PeerFn = std::function<void(Transport&)>;
using MainFn = std::function<void(Transport&, Heartbeat&)>;

// Runs `peer` on channel.b in `context` and `main` on channel.a in the calling thread,
// and returns once both have finished. A process peer gets only channel.b (the parent
// drops it), so the death of either side closes the other's descriptors. For kSpawn,
// pass an empty channel and no peer: options.spawn says what to start (a spawned peer
// is watched and reaped like a forked one; one that cannot start, or exits before opening
// its end, is a PeerError too).
//
// Throws PeerError naming what went wrong first: a hang (no heartbeat within
// options.timeout; the peer is then killed or its channel shut down), the peer's failure
// ("peer process killed by signal 9 (Killed)", "peer thread failed: <what>"), a peer
// that does not exit within the timeout after main finished, or main's own exception.
void run_pair(Context context, Channel channel, const PeerFn& peer, const MainFn& main,
              const PairOptions& options);

}  // namespace ipc
