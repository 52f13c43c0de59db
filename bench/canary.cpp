#include "bench/canary.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <vector>

#include "ipc/fixtures/floor.hpp"
#include "ipc/run/peer.hpp"

namespace bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kEvery = std::chrono::seconds(1);
constexpr int kSpinTrips = 2000;  // ~0.1-1 ms
constexpr int kFutexTrips = 40;   // ~2-4 ms across CPUs

struct Reading {
  double cacheline_ns = 0;
  double futex_ns = 0;
  Clock::time_point at{};
};

bool g_enabled = false;
const Clock::time_point g_start = Clock::now();
Reading g_last;

// Median round trip of `trips` baton passes between this thread and a peer thread on
// the other CPU.
double probe(ipc::BatonEnd::Mode mode, int trips) {
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(trips));
  ipc::Options options;
  options.timeout = std::chrono::milliseconds(2000);
  ipc::run_pair(
      ipc::Context::kThread, ipc::make_baton_channel(options, mode),
      [](ipc::Transport& t) {
        auto& end = static_cast<ipc::BatonEnd&>(t);
        while (end.take()) end.pass();
      },
      [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
        auto& end = static_cast<ipc::BatonEnd&>(t);
        for (int i = 0; i < trips; ++i) {
          const auto t0 = Clock::now();
          end.pass();
          if (!end.take()) throw ipc::MessageError("canary: the peer stopped early");
          ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count());
          heartbeat.beat();
        }
        end.pass(true);
      },
      {.timeout = options.timeout, .pin = ipc::Pin::kCross});
  std::nth_element(ns.begin(), ns.begin() + static_cast<long>(ns.size() / 2), ns.end());
  return ns[ns.size() / 2];
}

}  // namespace

void enable_canary() { g_enabled = true; }
bool canary_enabled() { return g_enabled; }

void canary_record(benchmark::State& state) {
  using std::chrono::duration;
  const auto now = Clock::now();
  state.counters["started_s"] = duration<double>(now - g_start).count();
  if (!g_enabled) return;
  if (now - g_last.at >= kEvery) {
    try {
      g_last = {probe(ipc::BatonEnd::Mode::kSpin, kSpinTrips),
                probe(ipc::BatonEnd::Mode::kFutex, kFutexTrips), Clock::now()};
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ipcbench: drift canary off: %s\n", e.what());
      g_enabled = false;
      return;
    }
  }
  state.counters["canary_cacheline_ns"] = g_last.cacheline_ns;
  state.counters["canary_futex_ns"] = g_last.futex_ns;
  state.counters["canary_age_s"] = duration<double>(Clock::now() - g_last.at).count();
}

}  // namespace bench
