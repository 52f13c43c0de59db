// ipcbench: the benchmark binary. Our own flags are taken off argv; everything else goes
// to Google Benchmark, and an unknown flag is an error, not a silent no-op.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/harness.hpp"
#include "ipc/spawn.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ipcbench [--list] [--quick] [--timeout=MS] [--transports=a,b,...]\n"
    "                [--contexts=thread,process,spawn] [Google Benchmark flags...]\n"
    "  --list        show the transports and contexts, then exit\n"
    "  --quick       smoke run: --benchmark_min_time=0.01 unless given (a few seconds)\n"
    "  --timeout=MS  how long a peer may make no progress before it counts as hung\n"
    "                (default 5000)\n"
    "  --transports  run only these transports; --contexts: only these contexts\n"
    "Benchmark names: roundtrip/<transport>/<context>/size:<bytes>,\n"
    "  throughput/<transport>/<context>/size:<bytes>, dict/<kind>/<context>/readers:<n>,\n"
    "  connection[-roundtrip|-setup]/<family>/<context>[/size:<bytes>],\n"
    "  startup/<context>/<transport>, startup/<context>/rss:<MiB>. All Google Benchmark\n"
    "flags work (--benchmark_filter, --benchmark_repetitions, --benchmark_out, ...).\n";

struct UsageError {
  std::string what;
};

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    out.push_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
  }
  return out;
}

long parse_positive(std::string_view flag, std::string_view value, long max) {
  std::string v(value);
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n <= 0 || n > max)
    throw UsageError{std::string(flag) + " wants a whole number from 1 to " +
                     std::to_string(max) + ", not '" + v + "'"};
  return n;
}

void list(const bench::Config&) {
  std::printf("transports:\n");
  for (const ipc::TransportInfo& t : ipc::transports())
    std::printf("  %-14s %-22s %s\n", std::string(t.name).c_str(),
                t.listen    ? "thread, process, spawn"
                : t.cross_process ? "thread, process"
                                  : "thread",
                std::string(t.summary).c_str());
  std::printf("contexts:\n  thread         peer is a thread of this process\n"
              "  process        peer is a forked child process\n"
              "  spawn          peer is this program started anew (posix_spawn), given\n"
              "                 only the channel's address on its command line\n");
}

}  // namespace

int main(int argc, char** argv) {
  // A spawned peer (--peer=...) runs its entry and exits; nothing else of main runs.
  if (std::optional<int> code = ipc::run_peer_mode(argc, argv)) return *code;
  bench::Config config;
  for (const ipc::TransportInfo& t : ipc::transports()) config.transports.push_back(&t);
  config.contexts = {ipc::Context::kThread, ipc::Context::kProcess};
  bool show_list = false;
  bool quick = false;
  bool has_min_time = false;
  std::vector<char*> rest = {argv[0]};
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      auto value = [&](std::string_view flag) {
        return arg.substr(flag.size() + 1);  // after "flag="
      };
      if (arg == "--help" || arg == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (arg == "--list") {
        show_list = true;
      } else if (arg == "--quick") {
        quick = true;
      } else if (arg.rfind("--timeout=", 0) == 0) {
        config.timeout = std::chrono::milliseconds(parse_positive("--timeout", value("--timeout"), 3'600'000));
      } else if (arg.rfind("--transports=", 0) == 0) {
        config.transports.clear();
        for (std::string_view name : split(value("--transports"))) {
          try {
            config.transports.push_back(&ipc::find_transport(name));
          } catch (const std::invalid_argument& e) {
            throw UsageError{e.what()};
          }
        }
      } else if (arg.rfind("--contexts=", 0) == 0) {
        config.contexts.clear();
        config.spawn = false;
        for (std::string_view name : split(value("--contexts"))) {
          auto c = ipc::parse_context(name);
          if (!c)
            throw UsageError{"unknown context '" + std::string(name) +
                             "' (known: thread, process, spawn)"};
          if (*c == ipc::Context::kSpawn)
            config.spawn = true;
          else
            config.contexts.push_back(*c);
        }
      } else {
        if (arg.rfind("--benchmark_min_time", 0) == 0) has_min_time = true;
        rest.push_back(argv[i]);
      }
    }
    if (config.transports.empty()) throw UsageError{"--transports names no transport"};
    if (config.contexts.empty() && !config.spawn)
      throw UsageError{"--contexts names no context"};
  } catch (const UsageError& e) {
    std::fprintf(stderr, "ipcbench: error: %s (see --help)\n", e.what.c_str());
    return 2;
  }
  if (show_list) {
    list(config);
    return 0;
  }
  static char quick_flag[] = "--benchmark_min_time=0.01";
  if (quick && !has_min_time) rest.push_back(quick_flag);

  int n = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 2;

  bench::register_roundtrip(config);
  bench::register_throughput(config);
  bench::register_dict(config);
  bench::register_connection(config);
  bench::register_startup(config);
  bench::add_context(config);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
