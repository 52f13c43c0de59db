#include "bench/flags.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <regex>

namespace bench {
namespace {

std::string want(std::string_view flag, const std::string& what, std::string_view value) {
  return std::string(flag) + " wants " + what + ", not '" + std::string(value) + "'";
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> options) {
  for (std::string_view o : options)
    if (value == o) return true;
  return false;
}

std::string check_int(std::string_view flag, std::string_view value, long lo, long hi) {
  std::string v(value);
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
    return want(flag, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
                value);
  return {};
}

// Seconds, as 1.7.1 takes them: a bare number ("0.5", not "0.5s").
std::string check_seconds(std::string_view flag, std::string_view value, bool zero_ok) {
  std::string v(value);
  char* end = nullptr;
  errno = 0;
  double x = std::strtod(v.c_str(), &end);
  const double kMax = 3600;
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(x) || x < 0 ||
      (x == 0 && !zero_ok) || x > kMax)
    return want(flag,
                std::string(zero_ok ? "" : "more than ") + "0 to 3600 seconds (a bare number)",
                value);
  return {};
}

}  // namespace

std::string check_benchmark_flag(std::string_view arg) {
  if (arg.rfind("--benchmark_", 0) != 0) return {};
  const auto eq = arg.find('=');
  const std::string_view flag = arg.substr(0, eq);
  const bool has_value = eq != std::string_view::npos;
  const std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view();

  if (one_of(flag, {"--benchmark_list_tests", "--benchmark_enable_random_interleaving",
                    "--benchmark_report_aggregates_only", "--benchmark_display_aggregates_only",
                    "--benchmark_counters_tabular"})) {
    if (has_value && !one_of(value, {"true", "false", "yes", "no", "on", "off", "1", "0"}))
      return want(flag, "true or false", value);
    return {};
  }
  if (!has_value) return {};  // Google Benchmark reports it as unrecognized
  if (flag == "--benchmark_repetitions") return check_int(flag, value, 1, 100000);
  if (flag == "--benchmark_min_time") return check_seconds(flag, value, false);
  if (flag == "--benchmark_min_warmup_time") return check_seconds(flag, value, true);
  if (flag == "--benchmark_format" || flag == "--benchmark_out_format") {
    if (!one_of(value, {"console", "json", "csv"}))
      return want(flag, "console, json or csv", value);
    return {};
  }
  if (flag == "--benchmark_time_unit") {
    if (!one_of(value, {"ns", "us", "ms", "s"})) return want(flag, "ns, us, ms or s", value);
    return {};
  }
  if (flag == "--benchmark_color") {
    if (!one_of(value, {"auto", "true", "false", "yes", "no", "on", "off", "1", "0"}))
      return want(flag, "auto, true or false", value);
    return {};
  }
  if (flag == "--benchmark_filter") {
    try {
      std::regex re(std::string(value), std::regex::extended);
    } catch (const std::regex_error& e) {
      return "--benchmark_filter: not a regular expression: '" + std::string(value) + "' (" +
             e.what() + ")";
    }
    return {};
  }
  if (flag == "--benchmark_out") {
    // Check the directory now: 1.7.1 finds out only when it starts writing.
    std::string path(value);
    if (path.empty()) return "--benchmark_out wants a file name";
    // 1.7.1 would say only "invalid file name" when it opens it, and exit 1.
    struct stat st {};
    if (path.back() == '/' || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))
      return "--benchmark_out=" + path + ": is a directory";
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::access(dir.c_str(), W_OK) != 0)
      return "--benchmark_out=" + path + ": cannot write in " + dir + " (" + std::strerror(errno) +
             ")";
    return {};
  }
  return {};
}

}  // namespace bench
