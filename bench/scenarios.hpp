// THE scenario table: every scenario the binary has, what its benchmark names look like,
// and the function that registers its benchmarks for a run. A new scenario is one file
// in bench/ (its register function) and one row in scenarios.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "bench/harness.hpp"

namespace bench {

struct Scenario {
  std::string_view name;     // the first part of its benchmark names
  std::string_view format;   // e.g. "roundtrip/<transport>/<context>/size:<bytes>"
  std::string_view summary;  // one line, for --list and --help
  void (*register_all)(const Config& config);
  // Called once before the run with the names of the benchmarks that will run (as
  // --benchmark_list_tests prints them), for start-up work such as a calibration; may
  // add to the JSON context. Null: nothing to do.
  void (*prepare)(const Config& config, std::span<const std::string> names) = nullptr;
};

// In the order main() registers them.
std::span<const Scenario> scenarios();

// The scenario a benchmark name belongs to: the one named by its first part, or of which
// the first part is a variant ("connection-setup/..." is "connection"); "" for none.
std::string_view scenario_of(std::string_view benchmark_name);

}  // namespace bench
