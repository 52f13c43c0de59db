// run_group: run_pair for n peers at once. Each channel's peer runs `peer(i, b)` as a
// thread or a forked process; `main` gets every channel's `a` end and a beat() that
// feeds every watchdog. Failures, deaths and hangs are reported as run_pair reports them.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "ipc/run/peer.hpp"

namespace ipc {

using GroupPeerFn = std::function<void(std::size_t index, Transport&)>;
using GroupMainFn =
    std::function<void(std::span<Transport* const> ends, const std::function<void()>& beat)>;

// Threads: one run_pair per channel, nested. Processes: every child is forked first
// (before any thread starts) and keeps only its own channel's end; one watchdog ends a
// dead child's channel (on_peer_exit) and kills them all if main makes no progress
// (beat) within options.timeout; options.on_peer_exit is called then too, and the
// test-only fault wrapper (options.wrap_peer_end, or the process-wide hook) wraps every
// peer's end, as run_pair does. Errors read as run_pair's ("peer process exited with
// code 70: <what>", "no progress within 5000 ms: peer hung (peer processes killed)").
void run_group(Context context, std::vector<Channel> channels, const GroupPeerFn& peer,
               const GroupMainFn& main, const PairOptions& options);

}  // namespace ipc
