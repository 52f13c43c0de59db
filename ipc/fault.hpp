// Test-only fault injection, to prove that faults end as errors, never as figures: a peer
// that is killed, hangs, exits or fails, and a channel that drops, duplicates, reorders,
// flips a bit in or truncates a message. run_pair applies it to the peer's end of any
// transport; the binary arms it only from the IPCBENCH_FAULT variable (bench/main.cpp),
// so a normal run never has it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ipc/transport.hpp"

namespace ipc {

enum class FaultKind {
  kNone,
  // The peer: killed by SIGKILL, stops reading for good, exits with code 3, throws.
  // A thread peer cannot be killed or exit alone: it throws instead.
  kKill, kHang, kExit, kThrow,
  // The message stream through the peer's end, in whichever direction the message goes.
  kDrop, kDuplicate, kReorder, kBitFlip, kTruncate,
};

struct Fault {
  FaultKind kind = FaultKind::kNone;
  // It strikes at this message, counting from 0 every message the peer's end sends or
  // receives (a round trip's peer receives message 0, sends 1, receives 2, ...). Changes
  // to bytes (bit flip, truncation) skip empty messages.
  std::uint64_t at = 0;
  explicit operator bool() const noexcept { return kind != FaultKind::kNone; }
};

std::string_view fault_name(FaultKind kind) noexcept;

// "kill:100" -> {kKill, 100}; a missing number means 0. Throws std::invalid_argument
// naming the known kinds.
Fault parse_fault(std::string_view spec);

// Wraps one end of a channel. `in_process`: the end runs in a forked process of its own,
// so kill and exit act on that process.
std::unique_ptr<Transport> make_faulty_transport(std::unique_ptr<Transport> inner, Fault fault,
                                                 bool in_process);

// The process-wide test fault: once armed, run_pair applies it to every pair run while
// the current fault scope's label contains `filter` (every pair if the filter is empty).
void arm_test_fault(Fault fault, std::string filter);
Fault armed_test_fault();

// The fault IPCBENCH_FAULT / IPCBENCH_FAULT_FILTER ask for, for a pair labelled `label`
// (none if unset, not matching, or malformed): for a spawned peer, which inherits the
// variables of the run that armed them (spawn.cpp).
Fault test_fault_from_env(std::string_view label) noexcept;

// Sets the label (e.g. "pipe/process") of what this thread runs now; bench::guarded
// opens one around every benchmark.
class FaultScope {
 public:
  explicit FaultScope(std::string label);
  FaultScope(const FaultScope&) = delete;
  FaultScope& operator=(const FaultScope&) = delete;
  ~FaultScope();

 private:
  std::string previous_;
};

}  // namespace ipc
