#include "ipc/core/plant.hpp"

#ifdef IPCBENCH_PLANT

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

namespace ipc {
namespace {

// getppid through syscall(2): glibc caches nothing here, each call enters the kernel.
void one_call() { static_cast<void>(syscall(SYS_getppid)); }

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double count_for_env() {
  const char* env = std::getenv("IPCBENCH_PLANT_NS");
  if (env == nullptr || *env == '\0') return 0;
  char* end = nullptr;
  const long ns = std::strtol(env, &end, 10);
  if (*end != '\0' || ns < 0 || ns > 10'000'000)
    throw std::invalid_argument("IPCBENCH_PLANT_NS wants 0..10000000 nanoseconds, not '" +
                                std::string(env) + "'");
  if (ns == 0) return 0;
  // The cost of one call: the fastest of several batches, in this thread's CPU time (on a
  // busy machine wall time would count the time other programs had the CPU).
  constexpr int kBatch = 2000;
  double best = 1e9;
  for (int round = 0; round < 5; ++round) {
    const double t0 = thread_cpu_ns();
    for (int i = 0; i < kBatch; ++i) one_call();
    best = std::min(best, (thread_cpu_ns() - t0) / kBatch);
  }
  return static_cast<double>(ns) / best;
}

}  // namespace

double planted_syscalls() {
  static const double n = count_for_env();
  return n;
}

void plant_cost() {
  // A fractional count is kept on average: 0.5 is one call every other send.
  thread_local double owed = 0;
  owed += planted_syscalls();
  for (; owed >= 1; owed -= 1) one_call();
}

}  // namespace ipc

#endif  // IPCBENCH_PLANT
