#include "ipc/run/cpu.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ipc {
namespace {

std::chrono::nanoseconds usage(int who) noexcept {
  rusage ru{};
  if (::getrusage(who, &ru) != 0) return {};
  auto tv = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return tv(ru.ru_utime) + tv(ru.ru_stime);
}

}  // namespace

std::string_view pin_name(Pin pin) noexcept {
  switch (pin) {
    case Pin::kCross:
      return "cross";
    case Pin::kSame:
      return "same";
    case Pin::kNone:
      break;
  }
  return "none";
}

std::optional<Pin> parse_pin(std::string_view name) noexcept {
  if (name == "none") return Pin::kNone;
  if (name == "cross") return Pin::kCross;
  if (name == "same") return Pin::kSame;
  return std::nullopt;
}

Placement plan_placement(Pin pin) {
  if (pin == Pin::kNone) return {};
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0)
    throw PinError(std::string("cannot pin: sched_getaffinity: ") + std::strerror(errno));
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) throw PinError("cannot pin: no CPU is allowed");
  if (pin == Pin::kSame) return {cpus[0], cpus[0]};
  if (cpus.size() < 2)
    throw PinError("--pin cross needs two CPUs; this process may use only CPU " +
                   std::to_string(cpus[0]));
  return {cpus[0], cpus[1]};
}

void pin_this_thread(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(0, sizeof set, &set) != 0)
    throw PinError("cannot pin to CPU " + std::to_string(cpu) +
                   ": sched_setaffinity: " + std::strerror(errno));
}

void pin_process(int pid, int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (::sched_setaffinity(pid, sizeof set, &set) != 0)
    throw PinError("cannot pin process " + std::to_string(pid) + " to CPU " + std::to_string(cpu) +
                   ": sched_setaffinity: " + std::strerror(errno));
}

AffinityGuard::AffinityGuard() {
  CPU_ZERO(&saved_);
  valid_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0;
}

AffinityGuard::~AffinityGuard() {
  if (valid_) ::sched_setaffinity(0, sizeof saved_, &saved_);
}

std::chrono::nanoseconds cpu_time_with_reaped_children() noexcept {
  return usage(RUSAGE_SELF) + usage(RUSAGE_CHILDREN);
}

}  // namespace ipc
