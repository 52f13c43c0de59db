#include "bench/harness.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"

namespace bench {

std::string join_name(std::initializer_list<std::string_view> parts) {
  std::string name;
  for (std::string_view p : parts) {
    if (!name.empty()) name += '/';
    name += p;
  }
  return name;
}

std::vector<ipc::Context> contexts_for(const Config& config, const ipc::TransportInfo& transport) {
  std::vector<ipc::Context> out;
  for (ipc::Context c : config.contexts)
    if (c == ipc::Context::kThread || transport.cross_process) out.push_back(c);
  return out;
}

ipc::PairOptions pair_options(const Config& config) {
  return {.timeout = config.timeout, .pin = config.pin};
}

namespace {
long g_fixed_iterations = 0;
const std::string kNoBenchmark;
thread_local const std::string* g_current = &kNoBenchmark;
}  // namespace

const std::string& current_benchmark() { return *g_current; }
CurrentBenchmark::CurrentBenchmark(const std::string& name) noexcept
    : previous_(std::exchange(g_current, &name)) {}
CurrentBenchmark::~CurrentBenchmark() { g_current = previous_; }

void set_fixed_iterations(long n) { g_fixed_iterations = n; }
long fixed_iterations() { return g_fixed_iterations; }

std::chrono::milliseconds backstop(const ipc::PairOptions& pair) { return 2 * pair.timeout; }

ipc::Options transport_options(const ipc::PairOptions& pair) {
  ipc::Options options;
  options.timeout = backstop(pair);
  return options;
}

bool skip_busy_poll_on_one_cpu(benchmark::State& state, const std::string& label, bool busy_polls,
                               ipc::Pin pin) {
  if (!busy_polls || pin != ipc::Pin::kSame) return false;
  state.SkipWithError((label + ": not measured with --pin same: a busy-polling peer "
                               "on the CPU of the other only waits for the scheduler")
                          .c_str());
  return true;
}

namespace {
std::mutex g_failures_mu;  // a benchmark may run on several threads (->Threads(n))
int g_failures = 0;
std::string g_first_failure;
}  // namespace

void note_failure(const std::string& what) {
  std::lock_guard lock(g_failures_mu);
  if (g_failures++ == 0) g_first_failure = what;
}

int failure_count() {
  std::lock_guard lock(g_failures_mu);
  return g_failures;
}

std::string first_failure() {
  std::lock_guard lock(g_failures_mu);
  return g_first_failure;
}

std::vector<ipc::Context> contexts_with_spawn(const Config& config,
                                              const ipc::TransportInfo& transport) {
  std::vector<ipc::Context> out = contexts_for(config, transport);
  if (config.spawn && transport.listen != nullptr) out.push_back(ipc::Context::kSpawn);
  return out;
}

std::vector<Placed> placements(const Config& config, bool busy_polls, bool all) {
  if (config.pins.size() <= 1) return {{pair_options(config), ""}};
  std::vector<Placed> out;
  for (ipc::Pin pin : config.pins) {
    if (busy_polls && pin == ipc::Pin::kSame) continue;
    ipc::PairOptions pair = pair_options(config);
    pair.pin = pin;
    out.push_back({pair, "/pin:" + std::string(ipc::pin_name(pin))});
    if (!all) break;
  }
  return out;
}

bool size_selected(const Config& config, std::size_t size) {
  return config.sizes.empty() ||
         std::find(config.sizes.begin(), config.sizes.end(), size) != config.sizes.end();
}

namespace {

std::vector<NotMeasured> g_not_measured;

}  // namespace

const std::vector<NotMeasured>& not_measured() { return g_not_measured; }

std::string above_limit(const ipc::TransportInfo& transport, std::size_t size) {
  if (transport.max_message == nullptr) return "";
  std::size_t limit = 0;
  try {
    limit = transport.max_message();
  } catch (const std::exception& e) {
    return std::string(transport.name) + ": not measured: its size limit is unknown (" + e.what() +
           ")";
  }
  if (size <= limit) return "";
  return std::string(transport.name) + ": not measured: " + std::to_string(size) +
         "-byte messages exceed its limit of " + std::to_string(limit) + " bytes";
}

void register_sized(std::string_view scenario, SizedBenchmark bm,
                    const ipc::TransportInfo& transport, ipc::Context context,
                    std::span<const std::size_t> sizes, const Config& config, bool swept) {
  const std::vector<Placed> where =
      swept ? placements(config, transport.busy_polls, context != ipc::Context::kSpawn)
            : std::vector<Placed>{{pair_options(config), ""}};
  for (std::size_t size : sizes) {
    if (!size_selected(config, size)) continue;
    const std::string why = above_limit(transport, size);
    for (const Placed& p : where) {
      const std::string name = join_name({scenario, transport.name, ipc::context_name(context),
                                          "size:" + std::to_string(size)}) +
                               p.suffix;
      if (!why.empty())
        g_not_measured.push_back({name, why});
      else
        register_benchmark(name, bm, &transport, context, size, p.pair, injected_delay_ns(name));
    }
  }
}

std::int64_t injected_delay_ns(const std::string& benchmark_name) {
  const char* ns = std::getenv("IPCBENCH_INJECT_NS");
  if (ns == nullptr || *ns == '\0') return 0;
  const char* filter = std::getenv("IPCBENCH_INJECT_FILTER");
  if (filter != nullptr && benchmark_name.find(filter) == std::string::npos) return 0;
  return std::strtoll(ns, nullptr, 10);
}

void busy_wait_ns(std::int64_t ns) noexcept {
  if (ns <= 0) return;
  const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  while (std::chrono::steady_clock::now() < until) {
  }
}

void echo(ipc::Transport& t, std::size_t size) {
  ipc::AlignedBuffer buf(size);
  for (std::uint64_t seq = 0;; ++seq) {
    // In the transport's memory if it has some (zero copy), else copied into buf.
    std::span<const std::byte> m = t.recv_in_place(buf.span());
    if (m.empty()) {
      t.send({});  // the last thing we send: see stop_echo
      return;
    }
    // Sent back first, verified while the echo travels: every message is checked, off
    // the round trip's critical path (send copies; the message is unchanged until the
    // next recv).
    t.send(m);
    ipc::verify_message(m, size, seq);
  }
}

void stop_echo(ipc::Transport& t, std::size_t size, std::uint64_t next_seq) {
  t.send({});
  ipc::AlignedBuffer buf(size);
  for (;;) {
    const std::size_t n = t.recv(buf.span());
    if (n == 0) return;
    // Nothing was sent as next_seq: this names what came instead (a duplicate echo, ...).
    ipc::verify_message(buf.span().first(n), size, next_seq);
    throw ipc::MessageError("message " + std::to_string(next_seq) + ": echoed, never sent");
  }
}

}  // namespace bench
