// CPU placement (--pin) of both peers in both contexts, and the CPU time accounting.
#include "ipc/run/cpu.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <ctime>
#include <string>

#include "ipc/run/peer.hpp"
#include "ipc/transports/pipe.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;

int allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  EXPECT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  return CPU_COUNT(&set);
}

TEST(PinTest, NamesRoundTrip) {
  for (Pin p : {Pin::kNone, Pin::kCross, Pin::kSame}) EXPECT_EQ(parse_pin(pin_name(p)), p);
  EXPECT_FALSE(parse_pin("both"));
  EXPECT_FALSE(parse_pin(""));
}

TEST(PinTest, PlanPicksAllowedCpus) {
  EXPECT_EQ(plan_placement(Pin::kNone).main_cpu, -1);
  Placement same = plan_placement(Pin::kSame);
  EXPECT_GE(same.main_cpu, 0);
  EXPECT_EQ(same.main_cpu, same.peer_cpu);
  if (allowed_cpus() >= 2) {
    Placement cross = plan_placement(Pin::kCross);
    EXPECT_GE(cross.main_cpu, 0);
    EXPECT_GE(cross.peer_cpu, 0);
    EXPECT_NE(cross.main_cpu, cross.peer_cpu);
  }
}

TEST(PinTest, CrossOnOneCpuIsAPinError) {
  AffinityGuard restore;
  pin_this_thread(plan_placement(Pin::kSame).main_cpu);
  try {
    plan_placement(Pin::kCross);
    FAIL() << "no PinError";
  } catch (const PinError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--pin cross needs two CPUs; this process may use "
                                          "only CPU ",
                                          0),
              0u)
        << e.what();
  }
}

TEST(PinTest, PinningToAMissingCpuNamesIt) {
  try {
    pin_this_thread(CPU_SETSIZE - 1);
    FAIL() << "no PinError";
  } catch (const PinError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot pin to CPU 1023: sched_setaffinity: "),
              std::string::npos)
        << e.what();
  }
}

TEST(PinTest, GuardRestoresTheMask) {
  const int before = allowed_cpus();
  {
    AffinityGuard restore;
    pin_this_thread(plan_placement(Pin::kSame).main_cpu);
    EXPECT_EQ(allowed_cpus(), 1);
  }
  EXPECT_EQ(allowed_cpus(), before);
}

// Each side reports the CPU it ran on (sched_getcpu) and its mask size through the pipe.
class PinPairTest : public ::testing::TestWithParam<Context> {};

TEST_P(PinPairTest, PeersRunWhereAsked) {
  const int cpus = allowed_cpus();
  for (Pin pin : {Pin::kSame, Pin::kCross}) {
    if (pin == Pin::kCross && cpus < 2) continue;
    const Placement plan = plan_placement(pin);
    int main_cpu = -1, main_mask = 0;
    std::int32_t peer_info[2] = {-1, 0};
    run_pair(
        GetParam(), make_pipe_channel({}),
        [](Transport& t) {
          std::int32_t info[2] = {::sched_getcpu(), allowed_cpus()};
          std::byte go[1];
          t.recv(go);
          t.send(std::as_bytes(std::span(info)));
        },
        [&](Transport& t, Heartbeat&) {
          main_cpu = ::sched_getcpu();
          main_mask = allowed_cpus();
          std::byte go[1]{};
          t.send(go);
          ASSERT_EQ(t.recv(std::as_writable_bytes(std::span(peer_info))), sizeof peer_info);
        },
        {.timeout = milliseconds(5000), .pin = pin});
    EXPECT_EQ(main_cpu, plan.main_cpu) << pin_name(pin);
    EXPECT_EQ(main_mask, 1) << pin_name(pin);
    EXPECT_EQ(peer_info[0], plan.peer_cpu) << pin_name(pin);
    EXPECT_EQ(peer_info[1], 1) << pin_name(pin);
  }
  EXPECT_EQ(allowed_cpus(), cpus) << "run_pair must restore the caller's mask";
}

TEST_P(PinPairTest, ImpossiblePlacementFailsBeforeStarting) {
  AffinityGuard restore;
  pin_this_thread(plan_placement(Pin::kSame).main_cpu);
  bool ran = false;
  EXPECT_THROW(run_pair(
                   GetParam(), make_pipe_channel({}), [&](Transport&) { ran = true; },
                   [&](Transport&, Heartbeat&) { ran = true; },
                   {.timeout = milliseconds(5000), .pin = Pin::kCross}),
               PinError);
  EXPECT_FALSE(ran);
}

INSTANTIATE_TEST_SUITE_P(All, PinPairTest, ::testing::Values(Context::kThread, Context::kProcess),
                         [](const auto& info) { return std::string(context_name(info.param)); });

TEST(CpuTimeTest, CountsOwnWorkAndReapedChildren) {
  // Burns `how_long` of this thread's own CPU time, however loaded the machine is.
  auto busy = [](milliseconds how_long) {
    auto cpu = [] {
      timespec ts{};
      ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
    };
    const auto until = cpu() + how_long;
    while (cpu() < until) {
    }
  };
  auto t0 = cpu_time_with_reaped_children();
  busy(milliseconds(50));
  auto t1 = cpu_time_with_reaped_children();
  EXPECT_GE(t1 - t0, milliseconds(45));  // rusage counts in microseconds
  run_pair(
      Context::kProcess, make_pipe_channel({}), [&](Transport&) { busy(milliseconds(50)); },
      [](Transport&, Heartbeat&) {}, {.timeout = milliseconds(5000)});
  auto t2 = cpu_time_with_reaped_children();
  EXPECT_GE(t2 - t1, milliseconds(45));
}

}  // namespace
}  // namespace ipc
