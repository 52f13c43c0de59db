#include "ipc/run/group.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ipc/core/error.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {
namespace {

// Threads: one run_pair per channel, nested, so each peer thread has run_pair's
// watchdog and shutdown handling.
struct Nest {
  Nest(Context c, std::vector<Channel>& ch, const GroupPeerFn& p, const GroupMainFn& m,
       const PairOptions& o)
      : context(c), channels(ch), peer(p), main(m), options(o) {}

  Context context;
  std::vector<Channel>& channels;
  const GroupPeerFn& peer;
  const GroupMainFn& main;
  const PairOptions& options;
  std::vector<Transport*> ends = {};
  std::vector<Heartbeat*> beats = {};
  // What main saw when a peer's trouble ended its call (closed, timed out): each level
  // whose own peer is fine passes it on unchanged, so the level whose peer failed can
  // tell and report the cause instead.
  std::string consequence = {};
  // The first peer to fail before main did: the cause. Peers failing later may only
  // have been shut down because of it.
  std::mutex mu;
  bool main_failed = false;
  std::string first_failure = {};

  void run(std::size_t i) {
    if (i == channels.size()) {
      try {
        main(ends, [this] {
          for (Heartbeat* h : beats) h->beat();
        });
      } catch (const ClosedError& e) {
        consequence = e.what();
        note_main_failed();
        throw;
      } catch (const TimeoutError& e) {
        consequence = e.what();
        note_main_failed();
        throw;
      } catch (...) {
        note_main_failed();
        throw;
      }
      return;
    }
    run_pair(
        context, std::move(channels[i]),
        [this, i](Transport& t) {
          try {
            peer(i, t);
          } catch (const std::exception& e) {
            std::lock_guard lock(mu);
            if (!main_failed && first_failure.empty()) first_failure = e.what();
            throw;
          }
        },
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

  void note_main_failed() {
    std::lock_guard lock(mu);
    main_failed = true;
  }
};

std::string hang_message(std::chrono::milliseconds timeout) {
  return "no progress within " + std::to_string(timeout.count()) +
         " ms: peer hung (peer processes killed)";
}

// Processes: every child is forked before any thread of ours starts (a fork with
// threads running is what sanitizers and allocators handle worst), and each child keeps
// only its own channel's end, so one child's death closes only its own channel.
void run_process_group(std::vector<Channel>& channels, const GroupPeerFn& peer,
                       const GroupMainFn& main, const PairOptions& options) {
  const std::size_t n = channels.size();
  const auto timeout = options.timeout;
  // The test-only fault wrapper on every peer's end, as run_pair puts it on its one.
  for (Channel& c : channels)
    if (c.b)
      c.b = options.wrap_peer_end ? options.wrap_peer_end(std::move(c.b), true)
                                  : apply_peer_end_hook(std::move(c.b), RunLabel::current(), true);
  // CPU placement as run_pair's: main on one CPU, every peer on the other (cross) or on
  // main's (same). A placement that cannot be had throws PinError before any fork.
  const Placement placement = plan_placement(options.pin);
  std::optional<AffinityGuard> restore;
  if (options.pin != Pin::kNone) {
    restore.emplace();
    pin_this_thread(placement.main_cpu);
  }
  std::vector<ChildProcess> children;
  children.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    children.push_back(ChildProcess::fork([&, i] {
      for (std::size_t j = 0; j < n; ++j) {
        channels[j].a.reset();
        if (j != i) channels[j].b.reset();
      }
      pin_this_thread(placement.peer_cpu);
      peer(i, *channels[i].b);
    }));
    channels[i].b.reset();
  }
  std::vector<Transport*> ends;
  for (Channel& c : channels) ends.push_back(c.a.get());

  // The watchdog: a child's exit ends that channel's blocked calls (on_peer_exit); no
  // heartbeat within the timeout kills every child.
  Heartbeat heartbeat;
  std::atomic<bool> hung{false};
  std::vector<std::size_t> exit_order;  // children seen exiting while main ran, in order
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC));
  if (!stop) throw_errno("eventfd");
  std::thread watchdog([&] {
    std::vector<pollfd> fds{{stop.get(), POLLIN, 0}};
    for (ChildProcess& c : children) fds.push_back({c.pidfd(), POLLIN, 0});
    std::uint64_t last = heartbeat.count();
    for (;;) {
      int r = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
      if (r < 0) continue;  // EINTR
      if (fds[0].revents != 0) return;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        fds[i].fd = -1;  // poll ignores it from now on
        exit_order.push_back(i - 1);
        ends[i - 1]->on_peer_exit();
        if (options.on_peer_exit) options.on_peer_exit();
      }
      if (r == 0) {
        std::uint64_t now = heartbeat.count();
        if (now == last) {
          hung = true;
          for (ChildProcess& c : children) c.kill();
          for (Transport* t : ends) t->on_peer_exit();
          if (options.on_peer_exit) options.on_peer_exit();
          return;
        }
        last = now;
      }
    }
  });

  bool failed = false, consequence = false;
  std::string what;
  try {
    main(ends, [&] { heartbeat.beat(); });
  } catch (const ClosedError& e) {
    failed = consequence = true;
    what = e.what();
  } catch (const TimeoutError& e) {
    failed = consequence = true;
    what = e.what();
  } catch (const std::exception& e) {
    failed = true;
    what = e.what();
  } catch (...) {
    failed = true;
    what = "unknown exception";
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(stop.get(), &one, sizeof one);
  watchdog.join();

  // Reap every child: at once if main finished, briefly (to learn why one died) if main
  // failed, and kill any still there after that.
  if (failed && consequence && !hung && exit_order.empty()) {
    // Main saw a channel end: a child is dying. Its pidfd turns readable just after its
    // descriptors close, so wait briefly for it before the shutdown below makes the
    // others fail too.
    std::vector<pollfd> fds;
    for (ChildProcess& c : children) fds.push_back({c.pidfd(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 200) > 0)
      for (std::size_t i = 0; i < n; ++i)
        if (fds[i].revents != 0) exit_order.push_back(i);
  }
  if (failed)
    for (Transport* t : ends) t->shutdown();  // a child blocked on us sees the end
  // The cause is the first child seen dying while main ran; the others may have failed
  // only because of it (or of the shutdown above).
  std::vector<std::string> failures(n);
  bool late = false;
  for (std::size_t i = 0; i < n; ++i) {
    std::optional<ExitStatus> status =
        children[i].wait_for(failed && !hung ? std::chrono::milliseconds(200) : timeout);
    bool killed = hung.load();
    if (!status) {
      late |= !failed && !hung;
      children[i].kill();
      killed = true;
      status = children[i].wait_for(timeout);
    }
    if (status && !status->ok() && !killed) failures[i] = "peer process " + status->describe();
  }
  std::string child_failure;
  for (std::size_t i : exit_order)
    if (child_failure.empty()) child_failure = failures[i];
  for (std::size_t i = 0; i < n; ++i)
    if (child_failure.empty()) child_failure = failures[i];

  if (hung) throw PeerError(hang_message(timeout));
  if (failed && !consequence) throw PeerError(what);
  if (!child_failure.empty()) throw PeerError(child_failure);
  if (failed) throw PeerError(what);
  if (late)
    throw PeerError("peer process did not exit within " + std::to_string(timeout.count()) +
                    " ms after the last message (killed)");
}

}  // namespace

void run_group(Context context, std::vector<Channel> channels, const GroupPeerFn& peer,
               const GroupMainFn& main, const PairOptions& options) {
  if (context == Context::kProcess) {
    run_process_group(channels, peer, main, options);
    return;
  }
  Nest nest(context, channels, peer, main, options);
  try {
    nest.run(0);
  } catch (const PeerError&) {
    std::lock_guard lock(nest.mu);
    if (!nest.first_failure.empty()) throw PeerError("peer thread failed: " + nest.first_failure);
    throw;
  }
}

}  // namespace ipc
