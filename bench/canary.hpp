// The drift canary: the machine changes state while the suite runs (the cache-line round
// trip moves between bands of ~30, ~70 and ~450 ns within minutes here; docs/MEASURING.md).
// With --canary, a short floor probe (cache-line and futex ping-pong between two threads on
// two CPUs) runs between benchmarks, at most once a second, and every benchmark
// repetition records the probe nearest to it in time, so that its figure can also be read
// as a multiple of the floor at that moment.
#pragma once

#include <benchmark/benchmark.h>

namespace bench {

// Turns the canary on for this run (--canary). Off, canary_record() does nothing.
void enable_canary();
bool canary_enabled();

// Records on `state` started_s (seconds since the run started: with random interleaving,
// repetitions of one benchmark are far apart; the JSON file is written in this order).
// With the canary on, also probes if the last probe is older than a second and records
// canary_cacheline_ns, canary_futex_ns (median round trip of the probe) and canary_age_s
// (seconds between that probe and this call). A probe that cannot run (one CPU) turns
// the canary off with one line on stderr.
void canary_record(benchmark::State& state);

}  // namespace bench
