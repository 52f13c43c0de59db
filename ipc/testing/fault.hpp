// Test-only fault injection, to prove that faults end as errors, never as figures: a peer
// that is killed, hangs, exits or fails, and a channel that drops, duplicates, reorders,
// flips a bit in or truncates a message. run_pair applies it to the peer's end of any
// transport through its test hook (ipc/run/pair.hpp); the binary arms it only from the
// IPCBENCH_FAULT variable (bench/main.cpp), so a normal run never has it. Release code in
// ipc/ never includes this file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ipc/core/transport.hpp"
#include "ipc/run/pair.hpp"

namespace ipc {

enum class FaultKind {
  kNone,
  // The peer: killed by SIGKILL, stops reading for good, stops for 300 ms then goes on
  // (a preempted peer; one peer thread of a process at a time, the others strike later),
  // exits with code 3, throws. A thread peer cannot be killed or exit alone: it throws
  // instead.
  kKill,
  kHang,
  kStall,
  kExit,
  kThrow,
  // The message stream through the peer's end, in whichever direction the message goes.
  kDrop,
  kDuplicate,
  kReorder,
  kBitFlip,
  kTruncate,
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

// The same, as run_pair's PairOptions::wrap_peer_end.
EndWrapper fault_wrapper(Fault fault);

// The process-wide test fault: once armed, run_pair applies it (set_peer_end_hook) to
// every pair run while the current RunLabel contains `filter` (every pair if the filter is
// empty). Arming {} disarms it.
void arm_test_fault(Fault fault, std::string filter);
// The armed fault for a pair labelled `label`, or none.
Fault armed_test_fault(std::string_view label);

// Arms the fault IPCBENCH_FAULT / IPCBENCH_FAULT_FILTER ask for, if set (a spawned peer
// inherits the variables of the run that armed them). Returns the spec, "" if unset;
// throws std::invalid_argument for a malformed one.
std::string arm_test_fault_from_env();

}  // namespace ipc
