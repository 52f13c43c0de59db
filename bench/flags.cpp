#include "bench/flags.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <regex>
#include <vector>

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

// std::regex (Google Benchmark 1.7.1's filter, and our check of it below) compiles and
// matches by recursion, about once per term of a branch and per enclosing group, so a long
// branch or a deep nesting overflows the stack and the run dies of SIGSEGV with no word.
// Measured here with an 8 MiB stack: crashes from 18,664 terms in one branch ('a' x
// 18,664; '(a)' x 18,572; 'a.*' x 9,317 -- 27,951 characters), or 12,432 nested groups;
// 10,000 short alternatives passed, and libstdc++ refuses 20,000 with an error of its own.
// So the recursion is estimated and refused far below that, and below what a smaller
// stack allows (~450 bytes a term measured; 4 KiB a term allowed).
constexpr std::size_t kMaxFilterTerms = 2000;
constexpr std::size_t kStackPerTerm = 4096;

// The deepest recursion std::regex would need for `filter`, in terms: every atom,
// bracket expression, group and quantifier counts 1 in its branch ('|' starts a new
// one), and the terms of every enclosing branch, plus 1 per group, add up.
std::size_t filter_depth(std::string_view filter) {
  std::vector<std::size_t> branch{0};  // terms so far in the current branch, per open group
  std::size_t depth = 0, deepest = 0;  // depth: the sum of `branch`, plus the open groups
  auto term = [&] {
    ++branch.back();
    deepest = std::max(deepest, ++depth);
  };
  for (std::size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c == '\\') {
      ++i;
      term();
    } else if (c == '[') {  // to its ']' (a ']' first, or after '^', is a member)
      std::size_t j = i + 1;
      if (j < filter.size() && filter[j] == '^') ++j;
      if (j < filter.size() && filter[j] == ']') ++j;
      while (j < filter.size() && filter[j] != ']') ++j;
      i = j;
      term();
    } else if (c == '(') {
      term();
      branch.push_back(0);
      deepest = std::max(deepest, ++depth);
    } else if (c == ')' && branch.size() > 1) {
      depth -= branch.back() + 1;
      branch.pop_back();
    } else if (c == '|') {
      depth -= branch.back();
      branch.back() = 0;
    } else {
      term();
    }
  }
  return deepest;
}

// Why `filter` is too big for std::regex, or "".
std::string oversized_filter(std::string_view filter) {
  std::size_t limit = kMaxFilterTerms;
  rlimit stack{};
  if (::getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY)
    limit = std::min<std::size_t>(limit, stack.rlim_cur / kStackPerTerm);
  const std::size_t depth = filter_depth(filter);
  if (depth <= limit) return {};
  return "--benchmark_filter: too long or too deeply nested for std::regex (" +
         std::to_string(filter.size()) + " characters, " + std::to_string(depth) +
         " terms deep; at most " + std::to_string(limit) + " allowed)";
}

// At most ~200 characters of `value`, for an error line.
std::string shortened(std::string_view value) {
  if (value.size() <= 200) return std::string(value);
  return std::string(value.substr(0, 200)) + "... (" + std::to_string(value.size()) +
         " characters)";
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
    if (std::string why = oversized_filter(value); !why.empty()) return why;
    try {
      std::regex re(std::string(value), std::regex::extended);
    } catch (const std::regex_error& e) {
      return "--benchmark_filter: not a regular expression: '" + shortened(value) + "' (" +
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
