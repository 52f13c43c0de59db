// CPU placement of the two peers of a pair (--pin), and the CPU time a run consumed.
#pragma once

#include <sched.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ipc {

enum class Pin {
  kNone,   // wherever the scheduler puts them
  kCross,  // the two peers on two different CPUs
  kSame,   // both peers on one CPU
};

std::string_view pin_name(Pin pin) noexcept;
std::optional<Pin> parse_pin(std::string_view name) noexcept;

// A placement that cannot be had here (too few CPUs allowed, affinity refused).
class PinError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The CPUs the main side and the peer run on; -1 means not pinned.
struct Placement {
  int main_cpu = -1;
  int peer_cpu = -1;
};

// Picks CPUs for `pin` among those the calling thread may use: the first one for
// the main side, the second one (kCross) or the same (kSame) for the peer. Throws
// PinError("--pin cross needs two CPUs; this process may use only CPU 0").
Placement plan_placement(Pin pin);

// Binds the calling thread (and what it forks or starts later) to `cpu`; does nothing
// for -1. Throws PinError("cannot pin to CPU 3: sched_setaffinity: Invalid argument").
void pin_this_thread(int cpu);

// Binds the main thread of process `pid` (a child of ours) to `cpu`; nothing for -1.
void pin_process(int pid, int cpu);

// Restores the calling thread's CPU mask of construction time when destroyed.
class AffinityGuard {
 public:
  AffinityGuard();
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;
  ~AffinityGuard();

 private:
  cpu_set_t saved_;
  bool valid_ = false;
};

// CPU time (user + system) of this process and of its children that have been reaped,
// from getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN): the difference across a
// run_pair is what both peers burned, in either context.
std::chrono::nanoseconds cpu_time_with_reaped_children() noexcept;

}  // namespace ipc
