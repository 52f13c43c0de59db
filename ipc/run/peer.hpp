// Execution contexts: run the peer side of a channel as a thread, a forked process or a
// spawned program, with the same code, and detect a peer that fails, dies or hangs.
#pragma once

#include "ipc/core/transport.hpp"
#include "ipc/run/pair.hpp"

namespace ipc {

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

// run_pair with a peer named by entry and argument, in any context: thread and process
// run the registered function on a channel from transport.make; spawn runs it in a new
// program (pair.spawn.executable, in peer mode), over transport.listen/connect. Fills
// pair.spawn's entry, arg, transport and transport_options.
void run_named_pair(Context context, const TransportInfo& transport, const Options& options,
                    std::string_view entry, std::string_view arg, const MainFn& main,
                    PairOptions pair);

}  // namespace ipc
