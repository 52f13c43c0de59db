// A planted slowdown, for proving the A/B regression gate on a real cost (scripts/
// gate_experiment.py). Only a build configured with -DIPCBENCH_PLANT=ON has it: there,
// the queue transport's send makes extra getppid() system calls, as many as take about
// IPCBENCH_PLANT_NS nanoseconds of CPU time (environment, counted once at start-up; 0 or
// unset: none; a fraction on average, e.g. one call every other send).
// In every other build plant_cost() is an empty inline function.
#pragma once

namespace ipc {

#ifdef IPCBENCH_PLANT
// The planted calls per send, on average (0 when IPCBENCH_PLANT_NS is unset or 0).
double planted_syscalls();
void plant_cost();
#else
constexpr double planted_syscalls() { return 0; }
inline void plant_cost() {}
#endif

}  // namespace ipc
