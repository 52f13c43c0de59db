// ipcbench: the benchmark binary. Our own flags are taken off argv; everything else goes
// to Google Benchmark, and an unknown flag is an error, not a silent no-op.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/flags.hpp"
#include "bench/harness.hpp"
#include "ipc/cleanup.hpp"
#include "ipc/fault.hpp"
#include "ipc/spawn.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ipcbench [--list] [--quick] [--timeout=MS] [--transports=a,b,...]\n"
    "                [--contexts=thread,process,spawn] [--pin=none|cross|same]\n"
    "                [Google Benchmark flags...]\n"
    "  --list        show the transports and contexts, then exit\n"
    "  --quick       smoke run: --benchmark_min_time=0.01 unless given (a few seconds);\n"
    "                otherwise the default is --benchmark_min_time=0.1\n"
    "  --timeout=MS  how long a peer may make no progress before it counts as hung\n"
    "                (default 5000)\n"
    "  --transports  run only these transports; --contexts: only these contexts\n"
    "  --pin=P       CPU placement of the two peers: none (default), cross (two CPUs),\n"
    "                same (one CPU); benchmarks that cannot be placed so are skipped\n"
    "Benchmark names: roundtrip/<transport>/<context>/size:<bytes>,\n"
    "  throughput/<transport>/<context>/size:<bytes>, dict/<kind>/<context>/readers:<n>,\n"
    "  connection[-roundtrip|-setup]/<family>/<context>[/size:<bytes>],\n"
    "  startup/<context>/<transport>, startup/<context>/rss:<MiB>,\n"
    "  floor/<kind>/<context>[/size:<bytes>]. All Google Benchmark\n"
    "flags work (--benchmark_filter, --benchmark_repetitions, --benchmark_out, ...).\n"
    "Exit status: 0 all benchmarks ran, 1 some failed (error entries, summary on stderr),\n"
    "2 bad command line or no benchmark matched, 128+N interrupted by signal N.\n";

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
  std::string out_file;  // --benchmark_out: removed again if the run is cut short
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
      } else if (arg == "--pin" || arg.rfind("--pin=", 0) == 0) {
        if (arg == "--pin" && i + 1 == argc) throw UsageError{"--pin wants none, cross or same"};
        std::string_view name = arg == "--pin" ? std::string_view(argv[++i]) : value("--pin");
        auto pin = ipc::parse_pin(name);
        if (!pin)
          throw UsageError{"unknown --pin '" + std::string(name) +
                           "' (known: none, cross, same)"};
        config.pin = *pin;
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
        if (std::string err = bench::check_benchmark_flag(arg); !err.empty())
          throw UsageError{err};
        if (arg.rfind("--benchmark_min_time", 0) == 0) has_min_time = true;
        if (arg.rfind("--benchmark_out=", 0) == 0) out_file = arg.substr(16);
        rest.push_back(argv[i]);
      }
    }
    // Test only (README "Reliability"): a fault injected into every peer, never set in real runs.
    if (const char* spec = std::getenv("IPCBENCH_FAULT"); spec != nullptr && *spec != '\0') {
      try {
        const char* filter = std::getenv("IPCBENCH_FAULT_FILTER");
        ipc::arm_test_fault(ipc::parse_fault(spec), filter != nullptr ? filter : "");
      } catch (const std::invalid_argument& e) {
        throw UsageError{std::string("IPCBENCH_FAULT: ") + e.what()};
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
  // 0.1 s per repetition rather than Google Benchmark's 0.5 s: ~360 benchmarks x 3
  // repetitions then take about 4 minutes here (0.2 s took 7); a 0.1 s repetition is
  // still thousands of round trips, and figures are medians over repetitions anyway
  // (README "Reading the numbers").
  static char default_min_time[] = "--benchmark_min_time=0.1";
  if (!has_min_time) rest.push_back(quick ? quick_flag : default_min_time);

  int n = static_cast<int>(rest.size());
  rest.push_back(nullptr);
  benchmark::Initialize(&n, rest.data());
  if (n > 1) {  // what Google Benchmark did not take either
    std::fprintf(stderr, "ipcbench: error: unrecognized command-line flag: %s (see --help)\n",
                 rest[1]);
    return 2;
  }

  // Leftovers of runs that died (SIGKILL, power loss) go first; an interrupt of this run
  // removes its own.
  ipc::CleanupResult stale = ipc::remove_stale_resources();
  if (!stale.removed.empty())
    std::fprintf(stderr, "ipcbench: removed %zu leftover(s) of dead runs, e.g. %s\n",
                 stale.removed.size(), stale.removed.front().c_str());
  try {
    if (!out_file.empty()) ipc::remove_on_interrupt(out_file);
    ipc::install_interrupt_handler();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ipcbench: error: cannot start: %s\n", e.what());
    return 1;
  }
  if (const char* spec = std::getenv("IPCBENCH_FAULT"); spec != nullptr && *spec != '\0')
    std::fprintf(stderr, "ipcbench: test fault armed (IPCBENCH_FAULT=%s): not a real run\n",
                 spec);

  bench::register_roundtrip(config);
  bench::register_floor(config);
  bench::register_throughput(config);
  bench::register_dict(config);
  bench::register_connection(config);
  bench::register_startup(config);
  bench::add_context(config);
  std::size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  ipc::wait_if_interrupted();  // after Ctrl-C the interrupt thread sets the exit status
  if (ran == 0) {  // Google Benchmark said why: no benchmark matched the filter
    if (!out_file.empty()) std::remove(out_file.c_str());  // it holds nothing
    return 2;
  }
  if (int failed = bench::failure_count()) {
    std::fprintf(stderr, "ipcbench: %d benchmark run(s) failed, the first: %s\n", failed,
                 bench::first_failure().c_str());
    return 1;
  }
  return 0;
}
