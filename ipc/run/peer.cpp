#include "ipc/run/peer.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "ipc/core/check.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/run/spawn.hpp"

namespace ipc {
namespace {

// A thread that calls on_hang() if the heartbeat does not move for `timeout`, or
// on_peer_exit() when `pidfd` (if >= 0) becomes readable. It fires at most once and
// is stopped by its destructor. It sleeps in poll(2) and looks at the heartbeat every
// half timeout: a hang is declared when it did not move across two looks (so never before
// `timeout` without progress) and at most 1.5x the timeout after the last beat, where one
// look per timeout took up to 2x. Two wake-ups per timeout do not disturb what it watches.
class Watchdog {
 public:
  Watchdog(const Heartbeat& heartbeat, std::chrono::milliseconds timeout, int pidfd,
           std::function<void()> on_hang, std::function<void()> on_peer_exit)
      : stop_(::eventfd(0, EFD_CLOEXEC)) {
    if (!stop_) throw_errno("eventfd");
    const int look_ms = static_cast<int>((timeout.count() + 1) / 2);
    thread_ = std::thread([=, this, &heartbeat] {
      // The heartbeat at the last two looks (at the start: both the current one).
      std::uint64_t before_last = heartbeat.count();
      std::uint64_t last = before_last;
      bool two_looks = false;
      pollfd fds[2] = {{stop_.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
      const nfds_t n = pidfd >= 0 ? 2 : 1;
      for (;;) {
        int r = ::poll(fds, n, look_ms);
        if (r < 0) continue;  // EINTR
        if (fds[0].revents != 0) return;
        if (n == 2 && fds[1].revents != 0) {
          on_peer_exit();
          return;
        }
        if (r == 0) {
          const std::uint64_t now = heartbeat.count();
          if (two_looks && now == before_last) {
            hung_.store(true);
            on_hang();
            return;
          }
          before_last = std::exchange(last, now);
          two_looks = true;
        }
      }
    });
  }

  ~Watchdog() {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t w = ::write(stop_.get(), &one, sizeof one);
    thread_.join();
  }

  bool hung() const noexcept { return hung_.load(); }

 private:
  UniqueFd stop_;
  std::atomic<bool> hung_{false};
  std::thread thread_;
};

// What the main side saw: nothing, a consequence of the peer's trouble (closed,
// timed out), or an error of its own (a bad message, a system error).
struct MainResult {
  bool failed = false;
  bool consequence = false;
  bool closed = false;  // the peer closed its end: it is on its way out
  std::string what;
};

MainResult run_main(const MainFn& main, Transport& a, Heartbeat& heartbeat) {
  try {
    main(a, heartbeat);
    return {};
  } catch (const ClosedError& e) {
    return {true, true, true, e.what()};
  } catch (const TimeoutError& e) {
    return {true, true, false, e.what()};
  } catch (const std::exception& e) {
    return {true, false, false, e.what()};
  }
}

std::string hang_message(std::chrono::milliseconds timeout, const char* action) {
  return "no progress within " + std::to_string(timeout.count()) + " ms: peer hung (" + action +
         ")";
}

[[noreturn]] void fail(const std::string& what) { throw PeerError(what); }

void run_thread_pair(Channel& ch, const PeerFn& peer, const MainFn& main,
                     std::chrono::milliseconds timeout) {
  Transport& a = *ch.a;
  Transport& b = *ch.b;
  auto shutdown_both = [&] {
    a.shutdown();
    b.shutdown();
  };
  std::string peer_error;
  std::promise<void> done;
  std::thread thread([&] {
    try {
      peer(b);
      b.shutdown();  // as a process's exit would: main sees the end after the data
    } catch (const std::exception& e) {
      peer_error = e.what();
      shutdown_both();
    }
    done.set_value();
  });

  Heartbeat heartbeat;
  MainResult result;
  bool hung;
  {
    std::optional<Watchdog> watchdog;
    try {
      watchdog.emplace(heartbeat, timeout, -1, shutdown_both, [] {});
    } catch (...) {  // e.g. no descriptor left for it: stop the peer before saying so
      shutdown_both();
      thread.join();
      throw;
    }
    result = run_main(main, a, heartbeat);
    hung = watchdog->hung();
  }
  if (result.failed) shutdown_both();
  auto finished = done.get_future();
  bool late = finished.wait_for(timeout) != std::future_status::ready;
  if (late) {
    shutdown_both();
    if (finished.wait_for(timeout) != std::future_status::ready) {
      // Every transport call fails promptly after shutdown(); a peer stuck elsewhere
      // cannot be stopped from outside its thread.
      std::fprintf(stderr, "ipcbench: a peer thread cannot be stopped; aborting\n");
      std::abort();
    }
  }
  thread.join();

  if (hung) fail(hang_message(timeout, "channel shut down"));
  if (result.failed && !result.consequence) fail(result.what);
  if (late)  // checked before peer_error: that is then only the shutdown we caused
    fail("peer thread did not finish within " + std::to_string(timeout.count()) +
         " ms after the last message");
  if (!peer_error.empty()) fail("peer thread failed: " + peer_error);
  if (result.failed) fail(result.what);
}

// Runs main on `a` against a child process (forked or spawned), watches and reaps it.
void supervise_process(ChildProcess& child, Transport& a, const MainFn& main,
                       std::chrono::milliseconds timeout,
                       const std::function<void()>& also_on_peer_exit) {
  Heartbeat heartbeat;
  MainResult result;
  bool hung;
  {
    // A dead child closes its descriptors, which ends main's calls on fd transports;
    // shared-memory ones learn it through on_peer_exit().
    Watchdog watchdog(
        heartbeat, timeout, child.pidfd(),
        [&] {
          child.kill();
          // A transport may free the locks the peer held once it is dead (shm-boost):
          // not while a stopped or running peer may still take them.
          child.wait_exited(timeout);
          a.on_peer_exit();
          if (also_on_peer_exit) also_on_peer_exit();
        },
        [&] {
          a.on_peer_exit();
          if (also_on_peer_exit) also_on_peer_exit();
        });
    result = run_main(main, a, heartbeat);
    hung = watchdog.hung();
  }
  // Reap the child: at once if main finished; if main failed, briefly (to learn why it
  // died), or up to the timeout when the peer closed its end, since it is exiting and
  // its exit status carries the reason (a sanitizer build's exit can take a second);
  // kill it if it is still there after that.
  if (result.failed) a.shutdown();  // a child blocked on us sees the end and exits
  bool killed = hung;
  const bool brief = result.failed && !hung && !result.closed;
  std::optional<ExitStatus> status =
      child.wait_for(brief ? std::chrono::milliseconds(200) : timeout);
  bool late = !status && !result.failed && !hung;
  if (!status) {
    child.kill();
    killed = true;
    status = child.wait_for(timeout);
  }

  if (hung) fail(hang_message(timeout, "peer process killed"));
  if (result.failed && !result.consequence) fail(result.what);
  if (status && !status->ok() && !killed) fail("peer process " + status->describe());
  if (result.failed) fail(result.what);
  if (late)
    fail("peer process did not exit within " + std::to_string(timeout.count()) +
         " ms after the last message (killed)");
}

void run_process_pair(Channel& ch, const PeerFn& peer, const MainFn& main,
                      std::chrono::milliseconds timeout,
                      const std::function<void()>& also_on_peer_exit) {
  ChildProcess child = ChildProcess::fork([&] {
    ch.a.reset();  // the parent's end: its descriptors must not keep the channel open
    peer(*ch.b);
    // Closed before the child exits, as a spawned peer's end is: a transport that
    // queues in user space (ZeroMQ's I/O thread) delivers what it still holds.
    ch.b.reset();
  });
  ch.b.reset();
  supervise_process(child, *ch.a, main, timeout, also_on_peer_exit);
}

void run_spawn_pair(const SpawnOptions& spawn, const MainFn& main,
                    std::chrono::milliseconds timeout, int peer_cpu,
                    const std::function<void()>& also_on_peer_exit) {
  SpawnedPeer peer = start_spawned_peer(spawn, timeout);
  pin_process(peer.child.pid(), peer_cpu);
  supervise_process(peer.child, *peer.end, main, timeout, also_on_peer_exit);
}

}  // namespace

std::string_view context_name(Context context) noexcept {
  switch (context) {
    case Context::kThread:
      return "thread";
    case Context::kProcess:
      return "process";
    case Context::kSpawn:
      return "spawn";
  }
  return "unknown";
}

std::optional<Context> parse_context(std::string_view name) noexcept {
  if (name == "thread") return Context::kThread;
  if (name == "process") return Context::kProcess;
  if (name == "spawn") return Context::kSpawn;
  return std::nullopt;
}

void run_pair(Context context, Channel channel, const PeerFn& peer, const MainFn& main,
              const PairOptions& options) {
  // A test wrapper (ipc/testing/fault.hpp) sits on the peer's end; a spawned peer's end
  // lives in another program, which applies the hook itself (ipc/run/spawn.cpp).
  if (channel.b && context != Context::kSpawn) {
    const bool in_process = context == Context::kProcess;
    channel.b = options.wrap_peer_end
                    ? options.wrap_peer_end(std::move(channel.b), in_process)
                    : apply_peer_end_hook(std::move(channel.b), RunLabel::current(), in_process);
  }
  // CPU placement: main pins itself here (and gets its own mask back at the end); a
  // thread or forked peer pins itself first thing, a spawned one is pinned once started.
  const Placement placement = plan_placement(options.pin);
  std::optional<AffinityGuard> restore;
  if (options.pin != Pin::kNone) {
    restore.emplace();
    pin_this_thread(placement.main_cpu);
  }
  const PeerFn pinned = [&](Transport& t) {
    pin_this_thread(placement.peer_cpu);
    peer(t);
  };
  const PeerFn& run_peer = options.pin != Pin::kNone ? pinned : peer;
  if (context == Context::kThread)
    run_thread_pair(channel, run_peer, main, options.timeout);
  else if (context == Context::kSpawn)
    run_spawn_pair(options.spawn, main, options.timeout, placement.peer_cpu, options.on_peer_exit);
  else
    run_process_pair(channel, run_peer, main, options.timeout, options.on_peer_exit);
}

namespace {
EndHook g_peer_end_hook = nullptr;  // set once, before any pair runs
thread_local std::string t_run_label;
}  // namespace

void set_peer_end_hook(EndHook hook) noexcept { g_peer_end_hook = hook; }

std::unique_ptr<Transport> apply_peer_end_hook(std::unique_ptr<Transport> end,
                                               std::string_view label, bool in_process) {
  return g_peer_end_hook ? g_peer_end_hook(std::move(end), label, in_process) : std::move(end);
}

RunLabel::RunLabel(std::string label) : previous_(std::exchange(t_run_label, std::move(label))) {}

RunLabel::~RunLabel() { t_run_label = std::move(previous_); }

const std::string& RunLabel::current() noexcept { return t_run_label; }

void run_named_pair(Context context, const TransportInfo& transport, const Options& options,
                    std::string_view entry, std::string_view arg, const MainFn& main,
                    PairOptions pair) {
  if (context == Context::kSpawn) {
    pair.spawn.entry = entry;
    pair.spawn.arg = arg;
    pair.spawn.transport = &transport;
    pair.spawn.transport_options = options;
    run_pair(context, Channel{}, nullptr, main, pair);
    return;
  }
  PeerEntryFn fn = find_peer_entry(entry);
  IPC_CHECK(fn != nullptr, "run_named_pair: unknown peer entry");
  std::string arg_copy(arg);
  run_pair(
      context, transport.make(options), [fn, arg_copy](Transport& t) { fn(t, arg_copy); }, main,
      pair);
}

}  // namespace ipc
