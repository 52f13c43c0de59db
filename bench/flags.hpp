// Checks of Google Benchmark's own flags before the library sees them: 1.7.1 accepts
// some bad values silently (--benchmark_format=xml, --benchmark_min_time=-1), crashes on
// others (--benchmark_repetitions=-3) and reports the rest in two lines.
#pragma once

#include <string>
#include <string_view>

namespace bench {

// "" if `arg` is not a --benchmark_* flag or its value is acceptable, else why not,
// e.g. "--benchmark_repetitions wants a whole number from 1 to 100000, not '-3'".
std::string check_benchmark_flag(std::string_view arg);

}  // namespace bench
