#include "bench/histograms.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "bench/harness.hpp"

namespace bench {
namespace {

struct Kept {
  ipc::LatencyHistogram histogram;
  int repetitions = 0;
};
struct Pending {
  std::int64_t iterations = 0;
  std::unique_ptr<ipc::LatencyHistogram> histogram;
};
struct Key {
  std::string benchmark;
  std::string series;
  auto operator<=>(const Key&) const = default;
};

std::mutex g_mu;
std::string g_dir;
std::map<Key, Kept> g_kept;
std::map<Key, Pending> g_pending;

void keep(const Key& key, const ipc::LatencyHistogram& h) {
  Kept& k = g_kept[key];
  k.histogram.merge(h);
  ++k.repetitions;
}

}  // namespace

void enable_histograms(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw std::runtime_error("--histograms: cannot create directory '" + dir +
                             "': " + (ec ? ec.message() : "not a directory"));
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".hgrm")
      throw std::runtime_error("--histograms: '" + dir + "' already holds histograms (" +
                               entry.path().filename().string() +
                               "); give a new or empty directory");
  std::lock_guard lock(g_mu);
  g_dir = dir;
}

bool histograms_enabled() noexcept {
  std::lock_guard lock(g_mu);
  return !g_dir.empty();
}

const std::string& histograms_dir() noexcept { return g_dir; }

void offer_histogram(const ipc::LatencyHistogram& histogram, std::int64_t iterations,
                     std::string_view series) {
  if (!histograms_enabled() || histogram.count() == 0) return;
  const Key key{current_benchmark(), std::string(series)};
  std::lock_guard lock(g_mu);
  Pending& p = g_pending[key];
  // The previous call was reported if this one runs as many iterations (a later
  // repetition); a call with fewer was one of the first repetition's trial runs.
  if (p.histogram && p.iterations == iterations) keep(key, *p.histogram);
  if (!p.histogram) p.histogram = std::make_unique<ipc::LatencyHistogram>();
  *p.histogram = histogram;
  p.iterations = iterations;
}

std::string histogram_file(std::string_view benchmark, std::string_view series) {
  std::string name(benchmark);
  for (char& c : name)
    if (c == '/') c = '.';
  if (!series.empty()) name.append(".").append(series);
  return name + ".hgrm";
}

std::size_t write_histograms() {
  std::lock_guard lock(g_mu);
  if (g_dir.empty()) return 0;
  for (auto& [key, p] : g_pending)  // the last call of each benchmark was reported
    if (p.histogram) keep(key, *p.histogram);
  g_pending.clear();
  const double us_per_tick = ipc::ns_per_tick() / 1000.0;
  nlohmann::ordered_json index;
  index["format"] = "HdrHistogram percentile distribution (outputPercentileDistribution)";
  index["unit"] = "us";
  index["ns_per_tick"] = ipc::ns_per_tick();
  index["histograms"] = nlohmann::ordered_json::array();
  for (const auto& [key, k] : g_kept) {
    const std::string file = histogram_file(key.benchmark, key.series);
    std::ofstream out(std::filesystem::path(g_dir) / file);
    out << ipc::percentile_distribution(k.histogram, us_per_tick);
    if (!out.flush()) throw std::runtime_error("--histograms: cannot write " + g_dir + "/" + file);
    index["histograms"].push_back({{"benchmark", key.benchmark},
                                   {"series", key.series.empty() ? "main" : key.series},
                                   {"file", file},
                                   {"repetitions", k.repetitions},
                                   {"count", k.histogram.count()}});
  }
  std::ofstream out(std::filesystem::path(g_dir) / "index.json");
  out << index.dump(2) << "\n";
  if (!out.flush()) throw std::runtime_error("--histograms: cannot write " + g_dir + "/index.json");
  return g_kept.size();
}

}  // namespace bench
