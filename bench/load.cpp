// load/<transport>/<context>/size:<bytes>/rate:<pct>pct: latency under load, open loop.
// The main side sends on a fixed schedule (message i due at t0 + i / rate; a late message
// goes at once and the schedule is kept, nothing is skipped) while a receive thread takes
// the echoes of the usual verified echo peer (roundtrip's), so a slow echo cannot hold
// back the next send. Latency is measured from each message's due time to its echo
// (corrected for coordinated omission: p50_ns ... max_ns) and from its actual send
// (uncorrected_p50_ns ...). One iteration is one message; the last one waits for every
// echo, so items_per_second is the achieved rate.
//
// The rate is a percentage of the pair's closed-loop round-trip rate, measured at
// start-up in the same run (prepare_load: one short ping-pong per transport, context and
// size), so that every transport's sweep spans the same share of what it can do and the
// names stay the same from run to run; the figure itself is in the JSON context
// (load_calibration) and in every repetition (closed_loop_rate, target_rate).
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/harness.hpp"
#include "bench/histograms.hpp"
#include "bench/measure.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/message.hpp"
#include "ipc/fixtures/open_loop.hpp"
#include "ipc/run/peer.hpp"
#include "ipc/transports/registry.hpp"

namespace bench {
namespace {

// The default sweep: small enough for every ./run.sh, wide enough for the knee.
constexpr std::string_view kSmallTransports[] = {"pipe", "uds", "tcp", "shm-ring", "shm-boost"};
constexpr std::size_t kSmallSizes[] = {64};
constexpr int kSmallRates[] = {10, 50, 90, 120, 200};
// --load-sweep=full: every transport, two sizes, more rates.
constexpr std::size_t kFullSizes[] = {64, 4096};
constexpr int kFullRates[] = {10, 25, 50, 75, 90, 100, 120, 150, 200, 300};

// How long the closed-loop calibration ping-pongs (after the warm-up), and at least how
// many round trips.
constexpr std::chrono::milliseconds kCalibrationTime{50};
constexpr int kCalibrationMin = 100;

struct Calibration {
  double rate = 0;    // closed-loop round trips per second
  std::string error;  // why it failed, if it did
};
std::map<std::string, Calibration> g_calibrations;  // by "<transport>/<context>/size:<n>"

std::string calibration_key(std::string_view transport, std::string_view context,
                            std::size_t size) {
  return join_name({transport, context, "size:" + std::to_string(size)});
}

// Closed-loop round trips per second of one pair: what rate:100pct is.
double measure_closed_loop(const ipc::TransportInfo& transport, ipc::Context context,
                           std::size_t size, const ipc::PairOptions& pair) {
  double rate = 0;
  ipc::run_named_pair(
      context, transport, transport_options(pair), kEchoEntry, std::to_string(size),
      [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
        ipc::Message out(size);
        ipc::AlignedBuffer in(size);
        std::uint64_t seq = 0;
        auto round_trip = [&] {
          out.stamp(seq);
          t.send(out.bytes());
          ipc::verify_message(in.span().first(t.recv(in.span())), size, seq);
          ++seq;
          heartbeat.beat();
        };
        for (int i = 0; i < kWarmUpRoundTrips; ++i) round_trip();
        using Clock = std::chrono::steady_clock;
        const Clock::time_point start = Clock::now();
        std::chrono::duration<double> elapsed{};
        int n = 0;
        for (; n < kCalibrationMin || elapsed < kCalibrationTime; ++n) {
          round_trip();
          elapsed = Clock::now() - start;
        }
        rate = n / elapsed.count();
        stop_echo(t, size, seq);
      },
      pair);
  return rate;
}

void BM_Load(benchmark::State& state, const ipc::TransportInfo* transport, ipc::Context context,
             std::size_t size, int pct, ipc::PairOptions pair) {
  const std::string label =
      std::string(transport->name) + "/" + std::string(ipc::context_name(context));
  if (skip_busy_poll_on_one_cpu(state, label, transport->busy_polls, pair.pin)) return;
  guarded(state, label, [&] {
    const std::string key = calibration_key(transport->name, ipc::context_name(context), size);
    auto found = g_calibrations.find(key);
    if (found == g_calibrations.end())
      throw std::runtime_error("no closed-loop calibration for " + key);
    if (!found->second.error.empty())
      throw std::runtime_error("closed-loop calibration failed: " + found->second.error);
    const double closed_loop = found->second.rate;
    const double rate = closed_loop * pct / 100.0;
    const auto messages = static_cast<std::uint64_t>(state.max_iterations);
    ipc::OpenLoopResult result;
    CpuMeter cpu;
    ipc::run_named_pair(
        context, *transport, transport_options(pair), kEchoEntry, std::to_string(size),
        [&](ipc::Transport& t, ipc::Heartbeat& heartbeat) {
          ipc::Message out(size);
          ipc::AlignedBuffer in(size);
          std::uint64_t seq = 0;
          for (; seq < kWarmUpRoundTrips; ++seq) {  // untimed, closed loop
            out.stamp(seq);
            t.send(out.bytes());
            ipc::verify_message(in.span().first(t.recv(in.span())), size, seq);
            heartbeat.beat();
          }
          ipc::OpenLoop loop(
              t, {.rate = rate, .messages = messages, .size = size, .first_seq = seq}, &heartbeat);
          for (auto _ : state) {
            loop.send_next();
            if (loop.sent() == messages) result = loop.finish();  // the clock stops after
          }
          stop_echo(t, size, seq + loop.sent());
        },
        pair);
    cpu.report(state, static_cast<std::int64_t>(messages));
    report_percentiles(state, result.corrected);
    report_percentiles(state, result.uncorrected, "uncorrected_");
    offer_histogram(result.corrected, state.iterations());
    offer_histogram(result.uncorrected, state.iterations(), "uncorrected");
    const double seconds = static_cast<double>(result.elapsed) * ipc::ns_per_tick() / 1e9;
    state.counters["closed_loop_rate"] = closed_loop;
    state.counters["target_rate"] = rate;
    state.counters["rate_pct"] = pct;
    // Over the run's span, from the first due time to the last echo, plus the last
    // message's own slot: a pair that keeps up achieves the target whatever the count.
    state.counters["achieved_rate"] = static_cast<double>(messages) / (seconds + 1.0 / rate);
    state.counters["max_in_flight"] = static_cast<double>(result.max_in_flight);
    state.counters["in_flight_end"] = static_cast<double>(result.in_flight_at_end);
    state.counters["late_sends"] = static_cast<double>(result.late_sends);
    state.counters["max_send_lag_ns"] =
        static_cast<double>(result.max_send_lag) * ipc::ns_per_tick();
    state.SetItemsProcessed(static_cast<std::int64_t>(messages));
    state.SetBytesProcessed(static_cast<std::int64_t>(messages * 2 * size));
  });
}

bool in_small_sweep(std::string_view name) {
  for (std::string_view t : kSmallTransports)
    if (t == name) return true;
  return false;
}

}  // namespace

void register_load(const Config& config) {
  const std::span<const std::size_t> sizes =
      config.load_full ? std::span<const std::size_t>(kFullSizes) : kSmallSizes;
  const std::span<const int> rates =
      config.load_full ? std::span<const int>(kFullRates) : std::span<const int>(kSmallRates);
  for (const ipc::TransportInfo* t : config.transports) {
    if (!config.load_full && !in_small_sweep(t->name)) continue;
    if (!t->full_duplex) continue;  // a sender and a receive thread share each end
    for (ipc::Context c : contexts_for(config, *t))
      for (std::size_t size : sizes)
        for (int pct : rates)
          if (size_selected(config, size))
            register_benchmark(
                join_name({"load", t->name, ipc::context_name(c), "size:" + std::to_string(size),
                           "rate:" + std::to_string(pct) + "pct"}),
                BM_Load, t, c, size, pct, pair_options(config));
  }
}

void prepare_load(const Config& config, std::span<const std::string> names) {
  nlohmann::ordered_json recorded = nlohmann::ordered_json::object();
  std::string summary;
  for (const std::string& name : names) {
    if (!name.starts_with("load/")) continue;
    std::vector<std::string> parts;
    for (std::size_t from = 0, slash; from <= name.size(); from = slash + 1) {
      slash = name.find('/', from);
      if (slash == std::string::npos) slash = name.size();
      parts.push_back(name.substr(from, slash - from));
    }
    if (parts.size() < 4 || !parts[3].starts_with("size:")) continue;
    const std::size_t size = std::stoul(parts[3].substr(5));
    const std::string key = calibration_key(parts[1], parts[2], size);
    if (g_calibrations.contains(key)) continue;
    Calibration& cal = g_calibrations[key];
    try {
      const ipc::TransportInfo& transport = ipc::find_transport(parts[1]);
      const auto context = ipc::parse_context(parts[2]);
      if (!context) throw std::invalid_argument("unknown context " + parts[2]);
      ipc::PairOptions pair = pair_options(config);
      if (transport.busy_polls && pair.pin == ipc::Pin::kSame)
        throw std::runtime_error("a busy-polling pair is not measured on one CPU");
      cal.rate = measure_closed_loop(transport, *context, size, pair);
      recorded[key] = cal.rate;
      char figure[32];
      std::snprintf(figure, sizeof figure, "%.0f", cal.rate);
      summary += (summary.empty() ? "" : ", ") + key + " " + figure;
    } catch (const std::exception& e) {
      cal.error = e.what();
      recorded[key] = nullptr;
      summary += (summary.empty() ? "" : ", ") + key + " failed";
    }
  }
  if (recorded.empty()) return;
  benchmark::AddCustomContext("load_calibration", recorded.dump());
  std::fprintf(stderr, "ipcbench: load calibration, closed-loop round trips/s: %s\n",
               summary.c_str());
}

}  // namespace bench
