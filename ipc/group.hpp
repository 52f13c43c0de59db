// run_group: run_pair for n peers at once. Each channel's peer runs `peer(i, b)` as a
// thread or a forked process; `main` gets every channel's `a` end and a beat() that
// feeds every watchdog. Failures, deaths and hangs are reported as run_pair reports them.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "ipc/peer.hpp"

namespace ipc {

using GroupPeerFn = std::function<void(std::size_t index, Transport&)>;
using GroupMainFn =
    std::function<void(std::span<Transport* const> ends, const std::function<void()>& beat)>;

// Nests one run_pair per channel, so each peer has its own watchdog and reaping. A
// process peer inherits the parent's ends of the channels started before it; channels
// must not rely on that end's closing to signal anything (use an explicit stop message).
void run_group(Context context, std::vector<Channel> channels, const GroupPeerFn& peer,
               const GroupMainFn& main, const PairOptions& options);

}  // namespace ipc
