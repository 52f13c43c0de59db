// pool/<kind>/<context>/workers:<n>/size:<bytes>: a worker pool on one shared task queue.
// One producer (the benchmarking thread) puts verified tasks on one queue of a shared kind
// (ipc/transports/registry.cpp, shared_queues()); n workers, threads or forked processes,
// each take tasks (every task taken by exactly one), verify them, do the calibrated unit
// of work (about 1 us, ipc::calibrated_work) and put a 32-byte result on one shared result
// queue, which the producer takes.
//
// One iteration is one result taken and one task put: the producer keeps a window of 2n
// tasks in flight (enough that no worker waits for the producer), so real time per
// iteration is 1 / tasks per second. Latency is per task, from its put to its result's
// arrival (p50_ns ... max_ns): with the window full it includes the wait in the queue
// behind the other tasks in flight (Little's law: about window / throughput).
//
// Accounting: every result names its task and carries the task's check; the producer
// keeps each task in flight in a slot until its result comes, so a task done twice, a
// result for a task never put, or a wrong result is an error at once. A task overtaken by
// thousands of later ones is late, not lost (its worker was preempted): it waits aside. At the end the
// producer puts n stop messages after the last task; each worker answers with the number
// of tasks it did, after its last result, so when all n answers are in every result is
// too: a task still in flight then is lost, and a worker's count that differs from the
// results the producer got from it is an error.
//
// Counters: items_per_second (tasks/s), p50_ns..max_ns, share_min / share_max (the
// smallest and largest fraction of the tasks one worker did; 1/n each when even),
// workers, window, work_ns / work_loops (the calibration: loops of the work chain and the
// nanoseconds they took when calibrated), and cpus / busy_peers / oversubscribed: the
// CPUs this process may use, the threads or processes busy in the benchmark (n workers
// and the producer), and 1 when the busy peers outnumber the CPUs.
#include "ipc/fixtures/pool.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "bench/harness.hpp"
#include "bench/measure.hpp"
#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/fixtures/latency.hpp"
#include "ipc/run/group.hpp"

namespace bench {
namespace {

constexpr std::size_t kWorkerCounts[] = {1, 2, 4, 8};
constexpr std::size_t kSizes[] = {64};
constexpr std::size_t kSlots = 4096;  // tasks the producer tracks at once (>> window)
constexpr int kWarmUpTasks = 64;

std::size_t window_of(std::size_t workers) { return 2 * workers; }

void worker(ipc::Transport& t, std::size_t index, std::size_t size, std::uint64_t loops) {
  ipc::AlignedBuffer in(size);
  ipc::AlignedBuffer out(ipc::kTaskHeadBytes);
  const auto me = static_cast<std::uint32_t>(index);
  std::uint64_t done = 0;
  for (;;) {
    const std::size_t n = t.recv(in.span());
    const ipc::TaskHead task = ipc::verify_task(in.span().first(n), size);
    if (task.seq == ipc::kStopSeq) {
      ipc::stamp_task(out.span(), ipc::kStopSeq, me, done);
      t.send(out.span());
      return;
    }
    ipc::do_work(loops, task.seq);
    ipc::stamp_task(out.span(), task.seq, me, task.check);
    t.send(out.span());
    ++done;
  }
}

class Producer {
 public:
  Producer(ipc::Transport& t, std::size_t workers, std::size_t size,
           const std::function<void()>& beat)
      : t_(t),
        workers_(workers),
        size_(size),
        beat_(beat),
        task_(size),
        result_(size),
        slots_(kSlots),
        per_worker_(workers, 0),
        acked_(workers, false) {}

  void put() {
    Slot& s = slots_[next_ % kSlots];
    // A task still out when its slot comes round is slow, not lost (a worker preempted
    // while 4096 later tasks went through the others): it waits aside. Only finish(),
    // after every worker stopped, proves a loss. At most `window` tasks are ever aside.
    if (s.out) aside_.push_back(s);
    ipc::stamp_task(task_.span(), next_, 0, 0);
    s = {next_, ipc::ticks(), true};
    t_.send(task_.span());
    ++next_;
    ++in_flight_;
  }

  // Takes one result (or a stop acknowledgement) and accounts for it.
  void take() {
    const std::size_t got = t_.recv(result_.span());
    const ipc::TaskHead h = ipc::verify_task(result_.span().first(got), ipc::kTaskHeadBytes);
    if (h.from >= workers_)
      throw ipc::MessageError("result from worker " + std::to_string(h.from) + " of " +
                              std::to_string(workers_));
    if (h.seq == ipc::kStopSeq) {
      if (acked_[h.from])
        throw ipc::MessageError("worker " + std::to_string(h.from) + " stopped twice");
      acked_[h.from] = true;
      ++acks_;
      if (h.extra != per_worker_[h.from])
        throw ipc::MessageError(
            "worker " + std::to_string(h.from) + " did " + std::to_string(h.extra) + " tasks, " +
            std::to_string(per_worker_[h.from]) + " of its results arrived (lost results)");
      return;
    }
    if (h.seq >= next_)
      throw ipc::MessageError("result for task " + std::to_string(h.seq) + ", never put");
    Slot& slot = slots_[h.seq % kSlots];
    Slot s = slot;
    if (slot.out && slot.seq == h.seq) {
      slot.out = false;
    } else {
      const auto it = std::find_if(aside_.begin(), aside_.end(),
                                   [&](const Slot& a) { return a.seq == h.seq; });
      if (it == aside_.end())
        throw ipc::MessageError("task " + std::to_string(h.seq) + " done twice");
      s = *it;
      *it = aside_.back();
      aside_.pop_back();
    }
    if (h.extra != ipc::task_check(h.seq, 0, static_cast<std::uint32_t>(size_), 0))
      throw ipc::MessageError("task " + std::to_string(h.seq) +
                              ": the result does not match the task (corrupted)");
    if (timed_) latency_.record(ipc::ticks() - s.t0);
    --in_flight_;
    ++per_worker_[h.from];
    beat_();
  }

  void run(benchmark::State& state, std::size_t window) {
    for (std::size_t i = 0; i < window; ++i) put();
    for (int i = 0; i < kWarmUpTasks; ++i) {
      take();
      put();
    }
    timed_ = true;
    for (auto _ : state) {
      take();
      put();
    }
    timed_ = false;
  }

  // Stops every worker and checks that every task came back.
  void finish() {
    ipc::stamp_task(task_.span(), ipc::kStopSeq, 0, 0);
    for (std::size_t i = 0; i < workers_; ++i) t_.send(task_.span());
    while (acks_ < workers_) take();
    if (in_flight_ != 0) {
      std::uint64_t first = ~std::uint64_t{0};
      for (const Slot& s : slots_)
        if (s.out) first = std::min(first, s.seq);
      for (const Slot& s : aside_) first = std::min(first, s.seq);
      throw ipc::MessageError(std::to_string(in_flight_) +
                              " task(s) lost: no result after every worker stopped (first: "
                              "task " +
                              std::to_string(first) + ")");
    }
  }

  void report(benchmark::State& state) const {
    report_percentiles(state, latency_);
    std::uint64_t total = 0, lo = ~std::uint64_t{0}, hi = 0;
    for (std::uint64_t c : per_worker_) {
      total += c;
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
    if (total == 0) return;
    state.counters["share_min"] = static_cast<double>(lo) / static_cast<double>(total);
    state.counters["share_max"] = static_cast<double>(hi) / static_cast<double>(total);
  }

 private:
  struct Slot {
    std::uint64_t seq = 0;
    std::uint64_t t0 = 0;
    bool out = false;
  };
  ipc::Transport& t_;
  std::size_t workers_, size_;
  const std::function<void()>& beat_;
  ipc::AlignedBuffer task_, result_;
  std::vector<Slot> slots_;
  std::vector<Slot> aside_;  // tasks out longer than kSlots later puts
  std::vector<std::uint64_t> per_worker_;
  std::vector<bool> acked_;
  std::size_t acks_ = 0;
  std::uint64_t next_ = 0;
  std::size_t in_flight_ = 0;
  bool timed_ = false;
  ipc::LatencyHistogram latency_;
};

std::string label_of(const ipc::SharedQueueInfo& kind, ipc::Context context, std::size_t workers) {
  return join_name(
      {"pool", kind.name, ipc::context_name(context), "workers:" + std::to_string(workers)});
}

void BM_Pool(benchmark::State& state, const ipc::SharedQueueInfo* kind, ipc::Context context,
             std::size_t workers, std::size_t size, ipc::PairOptions pair) {
  guarded(state, label_of(*kind, context, workers), [&] {
    const ipc::Work work = ipc::calibrated_work();  // before any fork: every worker's
    const std::size_t window = window_of(workers);
    ipc::Options options = transport_options(pair);
    options.buffer_bytes = 4 * (window + workers) * size;  // never full: see window
    auto set = std::make_shared<ipc::QueueSet>();
    set->queues.push_back(kind->make(options, size));
    set->queues.push_back(kind->make(options, size));
    ipc::SharedQueue* tasks = set->queues[0].get();
    ipc::SharedQueue* results = set->queues[1].get();
    std::vector<ipc::Channel> channels;
    for (std::size_t i = 0; i < workers; ++i)
      channels.push_back({ipc::make_queue_end(set, results, tasks, true),
                          ipc::make_queue_end(set, tasks, results, false)});
    ipc::run_group(
        context, std::move(channels),
        [&](std::size_t i, ipc::Transport& t) { worker(t, i, size, work.loops); },
        [&](std::span<ipc::Transport* const> ends, const std::function<void()>& beat) {
          Producer producer(*ends[0], workers, size, beat);
          producer.run(state, window);
          set->finishing = true;
          producer.finish();
          producer.report(state);
        },
        pair);
    state.SetItemsProcessed(state.iterations());
    state.counters["workers"] = static_cast<double>(workers);
    state.counters["window"] = static_cast<double>(window);
    state.counters["work_ns"] = work.ns;
    state.counters["work_loops"] = static_cast<double>(work.loops);
    report_peers(state, workers + 1);
  });
}

}  // namespace

void register_pool(const Config& config) {
  for (const ipc::SharedQueueInfo* kind : config.shared_queues)
    for (ipc::Context c : config.contexts) {
      if (c == ipc::Context::kProcess && !kind->cross_process) continue;
      if (c == ipc::Context::kSpawn) continue;
      for (std::size_t n : kWorkerCounts)
        for (std::size_t size : kSizes) {
          if (kind->max_message && size > kind->max_message()) continue;
          register_benchmark(label_of(*kind, c, n) + "/size:" + std::to_string(size), BM_Pool, kind,
                             c, n, size, pair_options(config));
        }
    }
}

}  // namespace bench
