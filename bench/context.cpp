// The JSON context: what ran, where, built how. Google Benchmark adds its own fields
// (date, host, CPUs, caches, load average); these come on top.
#include <sys/utsname.h>

#include <fstream>
#include <string>

#include "bench/harness.hpp"
#include "git_commit.h"  // IPCBENCH_GIT_COMMIT, written at build time (cmake/git_commit.cmake)
#include "ipc/transports/registry.hpp"
#ifndef IPCBENCH_BUILD_TYPE
#define IPCBENCH_BUILD_TYPE "unknown"
#endif

namespace bench {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string kernel() {
  utsname u{};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

}  // namespace

void add_context(const Config& config) {
  benchmark::AddCustomContext("ipcbench_schema", "1");
  benchmark::AddCustomContext("kernel", kernel());
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("compiler", "g++ " __VERSION__);
  benchmark::AddCustomContext("build_type", IPCBENCH_BUILD_TYPE);
  benchmark::AddCustomContext("git_commit", IPCBENCH_GIT_COMMIT);
  std::string pins;
  for (ipc::Pin pin : config.pins) pins.append(pins.empty() ? "" : ",").append(ipc::pin_name(pin));
  benchmark::AddCustomContext("pin", pins);
  benchmark::AddCustomContext("timeout_ms", std::to_string(config.timeout.count()));
  // Which transports busy-poll: the report divides them by the cache-line floor, the
  // others by the futex floor (scripts/ipcbench_tools/report/floors.py).
  std::string busy;
  for (const ipc::TransportInfo& t : ipc::transports()) {
    if (t.busy_polls) busy.append(busy.empty() ? "" : ",").append(t.name);
  }
  benchmark::AddCustomContext("busy_polling", busy);
  // Which spin before they sleep: across CPUs, also divided by the cache-line floor.
  std::string spin_first;
  for (const ipc::TransportInfo& t : ipc::transports()) {
    if (t.spins_first) spin_first.append(spin_first.empty() ? "" : ",").append(t.name);
  }
  benchmark::AddCustomContext("spins_first", spin_first);
  // Each transport's system limits (TransportInfo::limits), e.g. "limits:posix-mq".
  for (const ipc::TransportInfo* t : config.transports)
    if (t->limits != nullptr)
      benchmark::AddCustomContext("limits:" + std::string(t->name), t->limits());
}

}  // namespace bench
