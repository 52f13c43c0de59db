// What running two peers takes, shared by every execution context (peer.hpp, spawn.hpp,
// group.hpp): the contexts, the heartbeat, the errors and the options of a pair.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ipc/core/transport.hpp"
#include "ipc/run/cpu.hpp"

namespace ipc {

// Test only: replaces the peer's end of a channel before the peer runs; `in_process`:
// the end will live in a process of its own (forked or spawned).
using EndWrapper =
    std::function<std::unique_ptr<Transport>(std::unique_ptr<Transport> end, bool in_process)>;

// Test only: a process-wide wrapper of every peer's end, told what runs now (RunLabel).
// Set once, before any pair runs (ipc/testing/fault.hpp installs one when a test fault is
// armed); a normal run has none.
using EndHook = std::unique_ptr<Transport> (*)(std::unique_ptr<Transport> end,
                                               std::string_view label, bool in_process);
void set_peer_end_hook(EndHook hook) noexcept;
// `end`, through the hook if one is set.
std::unique_ptr<Transport> apply_peer_end_hook(std::unique_ptr<Transport> end,
                                               std::string_view label, bool in_process);

// Names what this thread runs now (e.g. "pipe/process"), for the hook above;
// bench::guarded opens one around every benchmark.
class RunLabel {
 public:
  explicit RunLabel(std::string label);
  RunLabel(const RunLabel&) = delete;
  RunLabel& operator=(const RunLabel&) = delete;
  ~RunLabel();
  static const std::string& current() noexcept;

 private:
  std::string previous_;
};

// kSpawn: a new program (posix_spawn, see ipc/run/spawn.hpp) that shares nothing with us but
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
  // Test only: wraps the peer's end before the peer runs (ipc/testing/fault.hpp makes
  // one). When null, the process-wide hook applies, if one is set (never in a normal run).
  EndWrapper wrap_peer_end = nullptr;
  // kSpawn only (run_pair's `channel` and `peer` are unused then); see run_named_pair.
  SpawnOptions spawn{};
};

using PeerFn = std::function<void(Transport&)>;
using MainFn = std::function<void(Transport&, Heartbeat&)>;

}  // namespace ipc
