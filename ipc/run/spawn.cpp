#include "ipc/run/spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "ipc/core/check.hpp"
#include "ipc/core/error.hpp"
#include "ipc/transports/registry.hpp"

namespace ipc {
namespace {

constexpr int kExitFailed = 70;  // EX_SOFTWARE, as a forked child that throws
constexpr int kExitUsage = 64;   // EX_USAGE
constexpr std::string_view kPeerFlag = "--peer=";

std::map<std::string, PeerEntryFn, std::less<>>& entries() {
  static std::map<std::string, PeerEntryFn, std::less<>> table;
  return table;
}

std::string known_entries() {
  std::string out;
  for (const auto& [name, fn] : entries()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

// The peer's command line: --peer=<entry> then --peer-<key>=<value> flags.
struct PeerArgs {
  std::string entry;
  std::string arg;
  std::string transport;
  std::string address;
  long timeout_ms = 0;
  long buffer_bytes = 0;
  long parent = 0;
  long error_fd = -1;
  long cpu = -1;
};

long to_long(std::string_view key, std::string_view value) {
  long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 0)
    throw std::invalid_argument("--peer-" + std::string(key) + " wants a number, not '" +
                                std::string(value) + "'");
  return n;
}

PeerArgs parse_peer_args(int argc, char** argv) {
  PeerArgs a;
  a.entry = std::string(std::string_view(argv[1]).substr(kPeerFlag.size()));
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto eq = arg.find('=');
    if (arg.rfind("--peer-", 0) != 0 || eq == std::string_view::npos)
      throw std::invalid_argument("unexpected argument '" + std::string(arg) + "'");
    std::string_view key = arg.substr(7, eq - 7), value = arg.substr(eq + 1);
    if (key == "arg")
      a.arg = value;
    else if (key == "transport")
      a.transport = value;
    else if (key == "address")
      a.address = value;
    else if (key == "timeout")
      a.timeout_ms = to_long(key, value);
    else if (key == "buffer")
      a.buffer_bytes = to_long(key, value);
    else if (key == "parent")
      a.parent = to_long(key, value);
    else if (key == "error-fd")
      a.error_fd = to_long(key, value);
    else if (key == "cpu")
      a.cpu = to_long(key, value);
    else
      throw std::invalid_argument("unknown flag '--peer-" + std::string(key) + "'");
  }
  if (a.transport.empty() || a.address.empty() || a.timeout_ms <= 0 || a.parent <= 0)
    throw std::invalid_argument(
        "--peer needs --peer-transport, --peer-address, --peer-timeout and --peer-parent");
  return a;
}

void report(int fd, const std::string& what) noexcept {
  if (fd >= 0) {
    [[maybe_unused]] ssize_t w = ::write(fd, what.data(), what.size());
  } else {
    std::fprintf(stderr, "ipcbench peer: error: %s\n", what.c_str());
  }
}

std::vector<std::string> peer_argv(const SpawnOptions& s, const std::string& address,
                                   int error_fd) {
  std::vector<std::string> argv = {
      s.executable,
      std::string(kPeerFlag) + s.entry,
      "--peer-arg=" + s.arg,
      "--peer-transport=" + std::string(s.transport->name),
      "--peer-address=" + address,
      "--peer-timeout=" + std::to_string(s.transport_options.timeout.count()),
      "--peer-buffer=" + std::to_string(s.transport_options.buffer_bytes),
      "--peer-parent=" + std::to_string(::getpid()),
      "--peer-error-fd=" + std::to_string(error_fd)};
  if (s.peer_cpu >= 0) argv.push_back("--peer-cpu=" + std::to_string(s.peer_cpu));
  return argv;
}

void pin_to(long cpu) {
  if (cpu < 0) return;
  if (cpu >= CPU_SETSIZE) throw std::invalid_argument("--peer-cpu: no CPU " + std::to_string(cpu));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(cpu), &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    throw_errno("sched_setaffinity CPU " + std::to_string(cpu));
}

}  // namespace

bool register_peer_entry(std::string_view name, PeerEntryFn fn) {
  bool added = entries().emplace(std::string(name), fn).second;
  IPC_CHECK(added, "peer entry registered twice");
  return true;
}

PeerEntryFn find_peer_entry(std::string_view name) noexcept {
  auto it = entries().find(name);
  return it == entries().end() ? nullptr : it->second;
}

std::optional<int> run_peer_mode(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]).rfind(kPeerFlag, 0) != 0) return std::nullopt;
  // First thing: die with the parent. posix_spawn cannot arm this before exec, so a
  // parent that died in between is caught by comparing getppid() below.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  PeerArgs a;
  try {
    a = parse_peer_args(argc, argv);
  } catch (const std::exception& e) {
    report(-1, e.what());
    return kExitUsage;
  }
  const int error_fd = static_cast<int>(a.error_fd);
  if (error_fd >= 0) ::fcntl(error_fd, F_SETFD, FD_CLOEXEC);
  if (::getppid() != static_cast<pid_t>(a.parent)) {
    report(error_fd, "the parent exited before the peer started");
    return kExitFailed;
  }
  try {
    pin_to(a.cpu);  // before anything else runs, as a pinned forked peer does
    PeerEntryFn fn = find_peer_entry(a.entry);
    if (fn == nullptr)
      throw std::invalid_argument("unknown peer entry '" + a.entry +
                                  "' (known: " + known_entries() + ")");
    const TransportInfo& transport = find_transport(a.transport);
    if (transport.connect == nullptr)
      throw std::invalid_argument("transport '" + a.transport +
                                  "' cannot be opened by a spawned peer");
    Options options;
    options.timeout = std::chrono::milliseconds(a.timeout_ms);
    if (a.buffer_bytes > 0) options.buffer_bytes = static_cast<std::size_t>(a.buffer_bytes);
    std::unique_ptr<Transport> end = transport.connect(a.address, options);
    // Test only (ipc/testing/fault.hpp): the hook of a run with a test fault armed.
    end = apply_peer_end_hook(std::move(end), a.transport + "/spawn", true);
    fn(*end, a.arg);
  } catch (const std::exception& e) {
    report(error_fd, e.what());
    return kExitFailed;
  }
  return 0;
}

SpawnedPeer start_spawned_peer(const SpawnOptions& spawn, std::chrono::milliseconds timeout) {
  // A scenario that runs its peer as a function (not a named entry) cannot be spawned:
  // an error entry for it, not an abort of the whole run.
  if (spawn.transport == nullptr || spawn.entry.empty())
    throw PeerError(
        "the spawn context needs PairOptions::spawn (a transport and a peer "
        "entry; see run_named_pair)");
  if (spawn.transport->listen == nullptr)
    throw PeerError("transport '" + std::string(spawn.transport->name) +
                    "' cannot be opened by a spawned peer");
  std::unique_ptr<Listener> listener = spawn.transport->listen(spawn.transport_options);
  const std::string address = listener->address();
  const std::vector<int> fds = listener->inherited_fds();
  std::optional<ChildProcess> child;
  try {
    child.emplace(ChildProcess::spawn(
        spawn.executable, [&](int error_fd) { return peer_argv(spawn, address, error_fd); }, fds));
  } catch (const std::system_error& e) {
    throw PeerError(std::string("cannot start the peer: ") + e.what());
  }
  try {
    std::unique_ptr<Transport> end = listener->accept(timeout, child->pidfd());
    return {std::move(*child), std::move(end)};
  } catch (const std::exception& e) {
    // Most often the peer failed to open its end: its exit status says why.
    std::optional<ExitStatus> status = child->wait_for(
        dynamic_cast<const ClosedError*>(&e) ? timeout : std::chrono::milliseconds(200));
    bool killed = false;
    if (!status) {
      child->kill();
      killed = true;
      status = child->wait_for(timeout);
    }
    if (status && !status->ok() && !killed) throw PeerError("peer process " + status->describe());
    throw PeerError(std::string("peer process did not open its end: ") + e.what());
  }
}

}  // namespace ipc
