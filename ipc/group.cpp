#include "ipc/group.hpp"

#include <string>

#include "ipc/error.hpp"

namespace ipc {
namespace {

struct Nest {
  Context context;
  std::vector<Channel>& channels;
  const GroupPeerFn& peer;
  const GroupMainFn& main;
  const PairOptions& options;
  std::vector<Transport*> ends;
  std::vector<Heartbeat*> beats;
  // What main saw when a peer's trouble ended its call (closed, timed out): each level
  // whose own peer is fine passes it on unchanged, so the level whose peer failed can
  // tell and report the cause instead.
  std::string consequence;

  void run(std::size_t i) {
    if (i == channels.size()) {
      try {
        main(ends, [this] {
          for (Heartbeat* h : beats) h->beat();
        });
      } catch (const ClosedError& e) {
        consequence = e.what();
        throw;
      } catch (const TimeoutError& e) {
        consequence = e.what();
        throw;
      }
      return;
    }
    run_pair(
        context, std::move(channels[i]), [this, i](Transport& t) { peer(i, t); },
        [this, i](Transport& a, Heartbeat& h) {
          ends.push_back(&a);
          beats.push_back(&h);
          try {
            run(i + 1);
          } catch (const PeerError& e) {
            // A deeper level with a healthy peer forwarded main's consequence: it is one
            // here too, so that run_pair looks at this level's peer.
            if (!consequence.empty() && consequence == e.what()) throw ClosedError(e.what());
            throw;
          }
        },
        options);
  }
};

}  // namespace

void run_group(Context context, std::vector<Channel> channels, const GroupPeerFn& peer,
               const GroupMainFn& main, const PairOptions& options) {
  Nest nest{context, channels, peer, main, options, {}, {}, {}};
  nest.run(0);
}

}  // namespace ipc
