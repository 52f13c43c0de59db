// ipcbench: the benchmark binary. Our own flags are taken off argv; everything else goes
// to Google Benchmark, and an unknown flag is an error, not a silent no-op.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/flags.hpp"
#include "bench/harness.hpp"
#include "bench/histograms.hpp"
#include "bench/progress.hpp"
#include "bench/run_order.hpp"
#include "bench/scenarios.hpp"
#include "ipc/core/plant.hpp"
#include "ipc/os/cleanup.hpp"
#include "ipc/run/spawn.hpp"
#include "ipc/testing/fault.hpp"
#include "ipc/transports/registry.hpp"

namespace {

constexpr const char* kUsage =
    "usage: ipcbench [--list[=json]] [--quick] [--canary] [--timeout=MS] [--transports=a,b,...]\n"
    "                [--sizes=N,...] [--contexts=thread,process,spawn] [--pin=P[,P]]\n"
    "                [--histograms=DIR] [--load-sweep=small|full]\n"
    "                [Google Benchmark flags...]\n"
    "  --list        show the transports, contexts and scenarios, then exit;\n"
    "                --list=json: the same and every benchmark name, as JSON\n"
    "  --quick       smoke run: --benchmark_min_time=0.01 unless given (a few seconds);\n"
    "                otherwise the default is --benchmark_min_time=0.1\n"
    "  --canary      interleave a short floor probe (cache line, futex) through the run and\n"
    "                record the nearest one with every repetition (canary_* counters)\n"
    "  --timeout=MS  how long a peer may make no progress before it counts as hung\n"
    "                (default 5000)\n"
    "  --transports  run only these transports; --contexts: only these contexts\n"
    "  --sizes=N,... message sizes (bytes) of the size-swept scenarios to run (default all)\n"
    "  --pin=P[,P]   CPU placement of the two peers: none (default), cross (two CPUs),\n"
    "                same (one CPU); benchmarks that cannot be placed so are skipped.\n"
    "                Several (e.g. none,cross,same): roundtrip/ and floor/ run in each,\n"
    "                named .../pin:<P> (busy-polling pairs not in same; spawn only in the\n"
    "                first: its steady state is process's); the rest in the first\n"
    "  --histograms=DIR  write every latency histogram (round trips, floors, load), merged\n"
    "                over repetitions, as HdrHistogram .hgrm text into DIR (+ index.json)\n"
    "  --load-sweep  load/ sweep: small (default: pipe, uds, tcp, shm-ring, shm-boost at\n"
    "                64 B, 5 rates) or full (every transport, 64 B and 4 KiB, 10 rates)\n"
    "Benchmark names: see --list (one format per scenario). All Google Benchmark\n"
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
    throw UsageError{std::string(flag) + " wants a whole number from 1 to " + std::to_string(max) +
                     ", not '" + v + "'"};
  return n;
}

constexpr std::string_view kContexts[][2] = {
    {"thread", "peer is a thread of this process"},
    {"process", "peer is a forked child process"},
    {"spawn",
     "peer is this program started anew (posix_spawn), given only the channel's "
     "address on its command line"},
};

std::vector<std::string> transport_contexts(const ipc::TransportInfo& t) {
  std::vector<std::string> out = {"thread"};
  if (t.cross_process) out.push_back("process");
  if (t.listen != nullptr) out.push_back("spawn");
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

void list_text() {
  std::printf("transports:\n");
  for (const ipc::TransportInfo& t : ipc::transports())
    std::printf("  %-14s %-22s %s\n", std::string(t.name).c_str(),
                joined(transport_contexts(t)).c_str(), std::string(t.summary).c_str());
  std::printf("shared queues (pool, fanin):\n");
  for (const ipc::SharedQueueInfo& q : ipc::shared_queues())
    std::printf("  %-14s %-22s %s\n", std::string(q.name).c_str(),
                q.cross_process ? "thread, process" : "thread", std::string(q.summary).c_str());
  std::printf("contexts:\n");
  for (const auto& [name, summary] : kContexts)
    std::printf("  %-14s %s\n", std::string(name).c_str(), std::string(summary).c_str());
  std::printf("scenarios:\n");
  for (const bench::Scenario& s : bench::scenarios())
    std::printf("  %-14s %s\n  %-14s %s\n", std::string(s.name).c_str(),
                std::string(s.summary).c_str(), "", std::string(s.format).c_str());
}

// Every benchmark name that --benchmark_list_tests prints (those the filter matches, with
// the suffixes the library adds, e.g. /real_time), taken from the library itself.
std::vector<std::string> listed_benchmarks() {
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  const bool was = std::exchange(benchmark::FLAGS_benchmark_list_tests, true);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::FLAGS_benchmark_list_tests = was;
  std::cout.rdbuf(saved);
  std::vector<std::string> names;
  std::istringstream lines(captured.str());
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) names.push_back(line);
  return names;
}

// The benchmarks left out at registration (harness.hpp, not_measured()) that the filter
// selects, as Google Benchmark 1.7.1 matches names: a search with a POSIX extended
// regular expression on "<name>/real_time", a leading '-' negating it.
std::vector<bench::NotMeasured> selected_not_measured() {
  std::string spec = benchmark::GetBenchmarkFilter();
  if (spec.empty() || spec == "all") spec = ".";
  const bool negative = spec[0] == '-';
  if (negative) spec.erase(0, 1);
  const std::regex re(spec, std::regex::extended);  // checked by the flag parser
  std::vector<bench::NotMeasured> out;
  for (const bench::NotMeasured& n : bench::not_measured())
    if (std::regex_search(n.name + "/real_time", re) != negative) out.push_back(n);
  return out;
}

// One line per reason on stderr, and the run's context "not_measured": "<why> (<k>
// benchmarks); ...", so a size a transport cannot carry shows and is never an error entry.
void say_not_measured(const std::vector<bench::NotMeasured>& left_out) {
  std::vector<std::pair<std::string, int>> reasons;  // in registration order
  for (const bench::NotMeasured& n : left_out) {
    auto it = std::find_if(reasons.begin(), reasons.end(),
                           [&](const auto& r) { return r.first == n.why; });
    if (it == reasons.end())
      reasons.emplace_back(n.why, 1);
    else
      ++it->second;
  }
  std::string context;
  for (const auto& [why, k] : reasons) {
    const std::string line =
        why + " (" + std::to_string(k) + " benchmark" + (k == 1 ? "" : "s") + ")";
    std::fprintf(stderr, "ipcbench: %s\n", line.c_str());
    context.append(context.empty() ? "" : "; ").append(line);
  }
  if (!context.empty()) benchmark::AddCustomContext("not_measured", context);
}

void list_json() {
  nlohmann::ordered_json out;
  out["transports"] = nlohmann::ordered_json::array();
  for (const ipc::TransportInfo& t : ipc::transports()) {
    nlohmann::ordered_json row;
    row["name"] = t.name;
    row["summary"] = t.summary;
    row["contexts"] = transport_contexts(t);
    row["busy_polls"] = t.busy_polls;
    row["startup"] = t.startup;
    row["max_message"] =
        t.max_message ? nlohmann::ordered_json(t.max_message()) : nlohmann::ordered_json(nullptr);
    out["transports"].push_back(row);
  }
  out["shared_queues"] = nlohmann::ordered_json::array();
  for (const ipc::SharedQueueInfo& q : ipc::shared_queues()) {
    nlohmann::ordered_json row;
    row["name"] = q.name;
    row["summary"] = q.summary;
    row["contexts"] = q.cross_process ? std::vector<std::string>{"thread", "process"}
                                      : std::vector<std::string>{"thread"};
    row["max_message"] =
        q.max_message ? nlohmann::ordered_json(q.max_message()) : nlohmann::ordered_json(nullptr);
    out["shared_queues"].push_back(row);
  }
  out["contexts"] = nlohmann::ordered_json::array();
  for (const auto& [name, summary] : kContexts)
    out["contexts"].push_back({{"name", name}, {"summary", summary}});
  const std::vector<std::string> names = listed_benchmarks();
  out["scenarios"] = nlohmann::ordered_json::array();
  for (const bench::Scenario& s : bench::scenarios()) {
    nlohmann::ordered_json row;
    row["name"] = s.name;
    row["format"] = s.format;
    row["summary"] = s.summary;
    row["benchmarks"] = nlohmann::ordered_json::array();
    for (const std::string& n : names)
      if (bench::scenario_of(n) == s.name) row["benchmarks"].push_back(n);
    out["scenarios"].push_back(row);
  }
  out["benchmarks"] = names;
  out["not_measured"] = nlohmann::ordered_json::array();
  for (const bench::NotMeasured& n : selected_not_measured())
    out["not_measured"].push_back({{"name", n.name + "/real_time"}, {"why", n.why}});
  std::printf("%s\n", out.dump(2).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // Test only (README "Reliability"): a fault injected into every peer, never set in real
  // runs. Armed first, so that a spawned peer of such a run injects it too.
  std::string fault_spec, fault_error;
  try {
    fault_spec = ipc::arm_test_fault_from_env();
  } catch (const std::invalid_argument& e) {
    fault_error = std::string("IPCBENCH_FAULT: ") + e.what();
  }
  // Test only: a -DIPCBENCH_PLANT=ON build's planted cost, counted before any peer starts.
  double planted = 0;
  try {
    planted = ipc::planted_syscalls();
  } catch (const std::invalid_argument& e) {
    fault_error = e.what();
  }
  // A spawned peer (--peer=...) runs its entry and exits; nothing else of main runs.
  if (std::optional<int> code = ipc::run_peer_mode(argc, argv)) return *code;
  bench::Config config;
  for (const ipc::TransportInfo& t : ipc::transports()) config.transports.push_back(&t);
  for (const ipc::SharedQueueInfo& q : ipc::shared_queues()) config.shared_queues.push_back(&q);
  config.contexts = {ipc::Context::kThread, ipc::Context::kProcess};
  enum class ListMode { kNone, kText, kJson } list_mode = ListMode::kNone;
  bool quick = false;
  bool has_min_time = false;
  std::string out_file;        // --benchmark_out: removed again if the run is cut short
  std::string histograms_dir;  // --histograms
  std::vector<char*> rest = {argv[0]};
  std::deque<std::string> owned_args;      // flags rewritten for Google Benchmark 1.7.1
  std::string display_format = "console";  // --benchmark_format
  std::string out_format = "json";         // --benchmark_out_format
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      auto value = [&](std::string_view flag) {
        return arg.substr(flag.size() + 1);  // after "flag="
      };
      if (arg == "--help" || arg == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      } else if (arg == "--list" || arg == "--list=text") {
        list_mode = ListMode::kText;
      } else if (arg == "--list=json") {
        list_mode = ListMode::kJson;
      } else if (arg.rfind("--list=", 0) == 0) {
        throw UsageError{"unknown --list format '" + std::string(value("--list")) +
                         "' (known: text, json)"};
      } else if (arg == "--quick") {
        quick = true;
      } else if (arg == "--canary") {
        bench::enable_canary();
      } else if (arg.rfind("--histograms=", 0) == 0) {
        histograms_dir = std::string(value("--histograms"));
        if (histograms_dir.empty()) throw UsageError{"--histograms wants a directory"};
      } else if (arg.rfind("--load-sweep=", 0) == 0) {
        const std::string_view sweep = value("--load-sweep");
        if (sweep != "small" && sweep != "full")
          throw UsageError{"unknown --load-sweep '" + std::string(sweep) +
                           "' (known: small, full)"};
        config.load_full = sweep == "full";
      } else if (arg.rfind("--timeout=", 0) == 0) {
        config.timeout =
            std::chrono::milliseconds(parse_positive("--timeout", value("--timeout"), 3'600'000));
      } else if (arg.rfind("--transports=", 0) == 0) {
        // A name may be a transport, a shared queue kind (pool, fanin), or both.
        config.transports.clear();
        config.shared_queues.clear();
        std::vector<std::string_view> named;  // each once: twice would run a benchmark twice
        for (std::string_view name : split(value("--transports"))) {
          for (std::string_view seen : named)
            if (seen == name)
              throw UsageError{"--transports names '" + std::string(name) + "' twice"};
          named.push_back(name);
          bool known = false;
          for (const ipc::SharedQueueInfo& q : ipc::shared_queues())
            if (q.name == name) {
              config.shared_queues.push_back(&q);
              known = true;
            }
          try {
            config.transports.push_back(&ipc::find_transport(name));
          } catch (const std::invalid_argument& e) {
            if (!known) {
              std::string kinds;
              for (const ipc::SharedQueueInfo& q : ipc::shared_queues())
                kinds += (kinds.empty() ? "" : ", ") + std::string(q.name);
              throw UsageError{std::string(e.what()) + "; shared queues: " + kinds};
            }
          }
        }
      } else if (arg == "--pin" || arg.rfind("--pin=", 0) == 0) {
        if (arg == "--pin" && i + 1 == argc) throw UsageError{"--pin wants none, cross or same"};
        std::string_view list = arg == "--pin" ? std::string_view(argv[++i]) : value("--pin");
        config.pins.clear();
        for (std::string_view name : split(list)) {
          auto pin = ipc::parse_pin(name);
          if (!pin)
            throw UsageError{"unknown --pin '" + std::string(name) +
                             "' (known: none, cross, same)"};
          for (ipc::Pin seen : config.pins)
            if (seen == *pin) throw UsageError{"--pin names '" + std::string(name) + "' twice"};
          config.pins.push_back(*pin);
        }
        if (config.pins.empty()) throw UsageError{"--pin wants none, cross or same"};
        config.pin = config.pins.front();
      } else if (arg.rfind("--sizes=", 0) == 0) {
        config.sizes.clear();
        for (std::string_view n : split(value("--sizes")))
          config.sizes.push_back(static_cast<std::size_t>(parse_positive("--sizes", n, 1L << 30)));
        if (config.sizes.empty()) throw UsageError{"--sizes wants sizes in bytes, e.g. 64,4096"};
      } else if (arg.rfind("--contexts=", 0) == 0) {
        config.contexts.clear();
        config.spawn = false;
        for (std::string_view name : split(value("--contexts"))) {
          auto c = ipc::parse_context(name);
          if (!c)
            throw UsageError{"unknown context '" + std::string(name) +
                             "' (known: thread, process, spawn)"};
          const bool twice =
              *c == ipc::Context::kSpawn
                  ? config.spawn
                  : std::find(config.contexts.begin(), config.contexts.end(), *c) !=
                        config.contexts.end();
          if (twice) throw UsageError{"--contexts names '" + std::string(name) + "' twice"};
          if (*c == ipc::Context::kSpawn)
            config.spawn = true;
          else
            config.contexts.push_back(*c);
        }
      } else if (arg.rfind("--benchmark_min_time=", 0) == 0 && arg.ends_with('x')) {
        // Google Benchmark 1.8's "=<n>x": exactly n iterations, which 1.7.1 has no flag for.
        const std::string_view n = value("--benchmark_min_time");
        config.iterations =
            parse_positive("--benchmark_min_time", n.substr(0, n.size() - 1), 1'000'000'000);
        has_min_time = true;
      } else {
        if (arg.rfind("--benchmark_min_time=", 0) == 0 && arg.ends_with('s')) {
          // Google Benchmark 1.8's "=<seconds>s": 1.7.1 takes the bare number.
          owned_args.push_back(std::string(arg.substr(0, arg.size() - 1)));
          argv[i] = owned_args.back().data();
          arg = argv[i];
        }
        if (std::string err = bench::check_benchmark_flag(arg); !err.empty()) throw UsageError{err};
        if (arg.rfind("--benchmark_min_time", 0) == 0) has_min_time = true;
        if (arg.rfind("--benchmark_out=", 0) == 0) out_file = arg.substr(16);
        if (arg.rfind("--benchmark_format=", 0) == 0) display_format = arg.substr(19);
        if (arg.rfind("--benchmark_out_format=", 0) == 0) out_format = arg.substr(23);
        rest.push_back(argv[i]);
      }
    }
    if (!fault_error.empty()) throw UsageError{fault_error};
    if (config.transports.empty() && config.shared_queues.empty())
      throw UsageError{"--transports names no transport"};
    if (config.contexts.empty() && !config.spawn) throw UsageError{"--contexts names no context"};
  } catch (const UsageError& e) {
    std::fprintf(stderr, "ipcbench: error: %s (see --help)\n", e.what.c_str());
    return 2;
  }
  if (list_mode == ListMode::kText) {
    list_text();
    return 0;
  }
  static char quick_flag[] = "--benchmark_min_time=0.01";
  // 0.1 s per repetition rather than Google Benchmark's 0.5 s: ~360 benchmarks x 3
  // repetitions then take about 4 minutes here (0.2 s took 7); a 0.1 s repetition is
  // still thousands of round trips, and figures are medians over repetitions anyway
  // (README "Reading the numbers").
  static char default_min_time[] = "--benchmark_min_time=0.1";
  if (!has_min_time) rest.push_back(quick ? quick_flag : default_min_time);

  // Google Benchmark writes --benchmark_out into a temporary file beside it, renamed into
  // place only after a run that ran something: a run that fails to start, matches nothing
  // or is interrupted leaves an earlier file of that name as it was.
  std::string out_partial;
  if (!out_file.empty()) {
    out_partial = out_file + ".partial-" + std::to_string(::getpid());
    owned_args.push_back("--benchmark_out=" + out_partial);
    for (char*& a : rest)
      if (std::string_view(a).rfind("--benchmark_out=", 0) == 0) a = owned_args.back().data();
  }

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
    if (!out_partial.empty()) ipc::remove_on_interrupt(out_partial);
    ipc::install_interrupt_handler();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ipcbench: error: cannot start: %s\n", e.what());
    return 1;
  }
  if (!fault_spec.empty())
    std::fprintf(stderr, "ipcbench: test fault armed (IPCBENCH_FAULT=%s): not a real run\n",
                 fault_spec.c_str());
  if (planted > 0) {
    std::fprintf(stderr,
                 "ipcbench: planted cost: %.2f getppid calls per queue send (IPCBENCH_PLANT_NS):"
                 " not a real run\n",
                 planted);
    char per_send[32];
    std::snprintf(per_send, sizeof per_send, "%.3f", planted);
    benchmark::AddCustomContext("planted_syscalls_per_send", per_send);
  }

  bench::set_fixed_iterations(config.iterations);
  for (const bench::Scenario& s : bench::scenarios()) s.register_all(config);
  if (list_mode == ListMode::kJson) {
    list_json();
    return 0;
  }
  bench::add_context(config);
  say_not_measured(selected_not_measured());
  if (!histograms_dir.empty()) {
    try {
      bench::enable_histograms(histograms_dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ipcbench: error: %s\n", e.what());
      return 2;
    }
  }
  const std::vector<std::string> to_run = listed_benchmarks();
  if (!to_run.empty())
    for (const bench::Scenario& s : bench::scenarios())
      if (s.prepare != nullptr) s.prepare(config, to_run);
  // Progress on stderr ("[k/N] ..., about 3m left"): a long run never sits silent.
  const std::size_t runs =
      to_run.size() * static_cast<std::size_t>(benchmark::FLAGS_benchmark_repetitions);
  bench::ProgressReporter progress(display_format, runs);
  // No benchmark matched the filter: the listing above already said so, once.
  // A JSON file holds the repetitions in the order they ran (run_order.hpp).
  bench::RunOrderReporter run_order;
  benchmark::BenchmarkReporter* file =
      !out_file.empty() && out_format == "json" ? &run_order : nullptr;
  std::size_t ran = runs == 0 ? 0 : benchmark::RunSpecifiedBenchmarks(&progress, file);
  benchmark::Shutdown();
  ipc::wait_if_interrupted();  // after Ctrl-C the interrupt thread sets the exit status
  if (ran == 0) {              // Google Benchmark said why: no benchmark matched the filter
    if (!out_partial.empty()) std::remove(out_partial.c_str());  // it holds nothing
    return 2;
  }
  if (!out_partial.empty() && std::rename(out_partial.c_str(), out_file.c_str()) != 0) {
    const int err = errno;
    std::remove(out_partial.c_str());
    std::fprintf(stderr, "ipcbench: error: rename %s to %s: %s\n", out_partial.c_str(),
                 out_file.c_str(), std::strerror(err));
    return 1;
  }
  if (bench::histograms_enabled()) {
    try {
      const std::size_t n = bench::write_histograms();
      std::fprintf(stderr, "ipcbench: wrote %zu histogram(s) to %s\n", n,
                   bench::histograms_dir().c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ipcbench: error: %s\n", e.what());
      return 1;
    }
  }
  if (int failed = bench::failure_count()) {
    std::fprintf(stderr, "ipcbench: %d benchmark run(s) failed, the first: %s\n", failed,
                 bench::first_failure().c_str());
    return 1;
  }
  return 0;
}
