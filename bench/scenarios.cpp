#include "bench/scenarios.hpp"

#include <array>

namespace bench {

// Each scenario's file defines its register function.
void register_roundtrip(const Config& config);
void register_floor(const Config& config);
void register_throughput(const Config& config);
void register_dict(const Config& config);
void register_connection(const Config& config);
void register_startup(const Config& config);
void register_load(const Config& config);
void prepare_load(const Config& config, std::span<const std::string> names);
void register_pool(const Config& config);
void register_fanin(const Config& config);

namespace {

constexpr std::array kScenarios = {
    Scenario{"roundtrip", "roundtrip/<transport>/<context>/size:<bytes>",
             "ping-pong: one verified round trip per iteration", register_roundtrip},
    Scenario{"floor", "floor/<kind>/<context>[/size:<bytes>]",
             "the floors: cache line, futex, raw system-call loops, memcpy", register_floor},
    Scenario{"throughput", "throughput/<transport>/<context>/size:<bytes>",
             "a one-way stream, one verified message per iteration", register_throughput},
    Scenario{"dict", "dict/<kind>/<context>/readers:<n>",
             "shared-dictionary lookups: local, mutex, shared memory, manager-<transport>",
             register_dict},
    Scenario{"connection", "connection[-roundtrip|-setup]/<family>/<context>[/size:<bytes>]",
             "Listener/Client connections: stream, round trip, set-up", register_connection},
    Scenario{"startup", "startup/<context>/<transport>, startup/<context>/rss:<MiB>",
             "starting a peer and its first round trip", register_startup},
    Scenario{"load", "load/<transport>/<context>/size:<bytes>/rate:<pct>pct",
             "open loop at a fixed rate, a percentage of the closed-loop rate measured at "
             "start-up; latency corrected for coordinated omission",
             register_load, prepare_load},
    Scenario{"pool", "pool/<queue>/<context>/workers:<n>/size:<bytes>",
             "a worker pool: one producer, n workers on one shared task queue, ~1 us of work",
             register_pool},
    Scenario{"fanin", "fanin/<queue>/<context>/clients:<n>/size:<bytes>",
             "n clients, one server (the resource thread), a reply queue per client",
             register_fanin},
};

}  // namespace

std::span<const Scenario> scenarios() { return kScenarios; }

std::string_view scenario_of(std::string_view benchmark_name) {
  const std::string_view first = benchmark_name.substr(0, benchmark_name.find('/'));
  for (const Scenario& s : kScenarios)
    if (first == s.name ||
        (first.size() > s.name.size() && first.starts_with(s.name) && first[s.name.size()] == '-'))
      return s.name;
  return {};
}

}  // namespace bench
