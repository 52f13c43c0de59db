// --histograms=DIR: the whole latency histogram of every latency-recording benchmark
// (round trips, floors, load), merged over its repetitions, written at the end of the run
// as HdrHistogram percentile-distribution text (DIR/<name>.hgrm, values in microseconds)
// with DIR/index.json listing them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/fixtures/latency.hpp"

namespace bench {

// Turns the export on; creates `dir` (and its parents) now. Throws std::runtime_error
// if it cannot, or if `dir` already holds .hgrm files (a previous run's).
void enable_histograms(const std::string& dir);
bool histograms_enabled() noexcept;

// Hands over the histogram (ticks) of one call of the running benchmark
// (current_benchmark()) that ran `iterations` iterations; `series` names a second
// histogram of the same benchmark (e.g. "uncorrected"), "" the main one. Only the calls
// Google Benchmark reports count: the first repetition may call a benchmark several times
// with a growing iteration count until it runs long enough, and every later repetition
// runs that final count once, so a call is kept when the next call of the same benchmark
// has the same count (or none follows), and dropped when it has more.
void offer_histogram(const ipc::LatencyHistogram& histogram, std::int64_t iterations,
                     std::string_view series = "");

// Writes every kept histogram (the sum of its repetitions: the distribution of all their
// samples, not a median of percentiles) and index.json; returns how many. Throws on an
// I/O error.
std::size_t write_histograms();
const std::string& histograms_dir() noexcept;

// The file name of a benchmark's histogram: '/' becomes '.', then the series if any.
std::string histogram_file(std::string_view benchmark, std::string_view series);

}  // namespace bench
