// dict/<kind>/<context>/readers:<n>: lookups at random keys (fixed seed per reader) in a
// 10,000-entry string-keyed dictionary, every value verified (key index + checksum).
//   local             a plain std::unordered_map in the benchmarking thread (baseline)
//   mutex             one map shared by reader threads behind a std::shared_mutex
//   shm               a boost::unordered_map in managed shared memory behind an
//                     interprocess_sharable_mutex; readers are threads or forked processes
//   manager-<t>       Python's Manager: a server (thread or process: the context) owns the
//                     map; each lookup is a request/response over transport t
//
// Timing: Google Benchmark drives iterations from one thread, so one iteration is one
// batch of lookups per reader, all readers started together and the iteration ending
// when the last has finished (real time). Reader 0 is the benchmarking thread itself;
// the others are threads released by a barrier, or (shm/process) forked processes told
// to go over a pipe, each answering with the number of lookups it did and verified,
// which must equal the batch. Batches are large (tens of milliseconds of work at 1
// reader) so that starting and joining the readers costs ~1% of an iteration.
// items_per_second is lookups/s of all readers; lookups_per_reader the per-reader rate.
//
// In the manager kinds the readers are threads of the benchmarking process, each with
// its own channel to the server, as threads or processes each hold their own connection
// to a Python manager; the context says where the server runs. The server serves each
// channel in a thread of its own, as Python's manager does (one thread per connection);
// polling one thread over n channels would serialise the readers behind one core.
#include "ipc/fixtures/dict.hpp"

#include <barrier>
#include <exception>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "bench/harness.hpp"
#include "bench/stream.hpp"
#include "ipc/fixtures/dict_server.hpp"
#include "ipc/fixtures/shm_dict.hpp"
#include "ipc/os/names.hpp"
#include "ipc/run/group.hpp"
#include "ipc/transports/pipe.hpp"

namespace bench {
namespace {

constexpr std::size_t kEntries = 10'000;
constexpr std::uint64_t kSeed = 20080623;  // fixed: every run looks up the same keys
constexpr std::size_t kReaderCounts[] = {1, 2, 4};
constexpr std::uint64_t kFastBatch = 50'000;  // local, mutex, shm: ~5-20 ms
constexpr std::uint64_t kManagerBatch = 100;  // one round trip each: ~2-20 ms

const ipc::Dict& the_dict() {
  static const ipc::Dict dict = ipc::make_dict(kEntries);
  return dict;
}

const std::vector<std::string>& the_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (std::size_t i = 0; i < kEntries; ++i) k.push_back(ipc::dict_key(i));
    return k;
  }();
  return keys;
}

// The keys' hashes, computed once: what CPython does for the str keys of the Python
// reference (a str caches its hash), so dict/local-prehashed does the same work as
// py-local; dict/local hashes each key as a C++ program with fresh strings would.
const std::vector<std::size_t>& the_key_hashes() {
  static const std::vector<std::size_t> hashes = [] {
    std::vector<std::size_t> h;
    for (const std::string& key : the_keys()) h.push_back(ipc::StringHash{}(key));
    return h;
  }();
  return hashes;
}

// A key with its hash, and a dictionary that takes it without hashing again (same hash
// function as ipc::Dict, so the same buckets).
struct Prehashed {
  std::string_view key;
  std::size_t hash;
};
struct PrehashedHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return ipc::StringHash{}(s); }
  std::size_t operator()(const Prehashed& p) const noexcept { return p.hash; }
};
struct PrehashedEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const Prehashed& p, std::string_view s) const noexcept { return p.key == s; }
  bool operator()(std::string_view s, const Prehashed& p) const noexcept { return p.key == s; }
};
using PrehashedDict =
    std::unordered_map<std::string, ipc::DictValue, PrehashedHash, PrehashedEqual>;

const PrehashedDict& the_prehashed_dict() {
  static const PrehashedDict dict(the_dict().begin(), the_dict().end());
  return dict;
}

// splitmix64: cheap next to a lookup, and the same sequence everywhere.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

// `n` lookups at random keys, each value verified; returns how many were verified.
template <typename Lookup>
std::uint64_t lookup_batch(Lookup&& lookup, Rng& rng, std::uint64_t n) {
  const std::vector<std::string>& keys = the_keys();
  ipc::DictValue value;
  std::uint64_t verified = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::size_t k = static_cast<std::size_t>(rng.next() % keys.size());
    bool found;
    if constexpr (std::is_invocable_v<Lookup&, std::size_t, ipc::DictValue&>)
      found = lookup(k, value);  // by key index (dict/local-prehashed)
    else
      found = lookup(keys[k], value);
    if (!found) throw ipc::MessageError("dict: " + keys[k] + " not found");
    ipc::check_dict_value(value, k);
    ++verified;
  }
  return verified;
}

// Readers as threads: reader 0 is the calling thread, the others wait at a barrier.
// run_batch() releases all of them for one batch and returns when all are done.
class ReaderThreads {
 public:
  using Batch = std::function<std::uint64_t(std::size_t reader, std::uint64_t n)>;

  // Readers 1.. run on `cpu` (-1: anywhere); reader 0 is the calling thread.
  ReaderThreads(std::size_t readers, int cpu, Batch batch)
      : batch_(std::move(batch)), start_(readers), done_(readers), counts_(readers) {
    threads_.reserve(readers);
    for (std::size_t i = 1; i < readers; ++i) {
      try {
        start_reader(i, cpu);
      } catch (...) {
        // No thread (e.g. no address space for its stack): an error, not std::terminate
        // from a joinable thread's destructor. The readers not started leave the barrier,
        // so that the started ones see stop_ and return.
        stop_ = true;
        for (std::size_t missing = i; missing < readers; ++missing) start_.arrive_and_drop();
        start_.arrive_and_wait();
        for (std::thread& t : threads_) t.join();
        throw;
      }
    }
  }

  ~ReaderThreads() {
    stop_ = true;  // published to the readers by the barrier
    start_.arrive_and_wait();
    for (std::thread& t : threads_) t.join();
  }

  void run_batch(std::uint64_t n) {
    n_ = n;
    start_.arrive_and_wait();
    run(0);
    done_.arrive_and_wait();
    if (error_) std::rethrow_exception(error_);
    for (std::size_t i = 0; i < counts_.size(); ++i)
      if (counts_[i] != n)
        throw ipc::MessageError("reader " + std::to_string(i) + " verified " +
                                std::to_string(counts_[i]) + " of " + std::to_string(n) +
                                " lookups");
  }

 private:
  void start_reader(std::size_t i, int cpu) {
    threads_.emplace_back([this, i, cpu] {
      try {
        ipc::pin_this_thread(cpu);
      } catch (...) {  // reported by the first batch, as a reader's failure
        std::lock_guard lock(mu_);
        error_ = std::current_exception();
      }
      for (;;) {
        start_.arrive_and_wait();
        if (stop_) return;
        run(i);
        done_.arrive_and_wait();
      }
    });
  }

  void run(std::size_t i) {
    try {
      counts_[i] = batch_(i, n_);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = std::current_exception();
      counts_[i] = 0;
    }
  }

  Batch batch_;
  std::barrier<> start_;
  std::barrier<> done_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t n_ = 0;
  bool stop_ = false;
  std::mutex mu_;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

void report(benchmark::State& state, std::size_t readers, std::uint64_t batch) {
  auto per_reader = static_cast<double>(state.iterations()) * static_cast<double>(batch);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(readers * batch));
  state.counters["lookups_per_reader"] =
      benchmark::Counter(per_reader, benchmark::Counter::kIsRate);
}

// The benchmark loop with thread readers; `lookup_for(i)` makes reader i's lookup. With a
// placement (--pin), reader 0 (this thread) runs on its main CPU and the others on its
// peer CPU; inside run_pair (pin none here) they stay where run_pair put this thread.
template <typename MakeLookup>
void thread_readers_loop(benchmark::State& state, std::size_t readers, std::uint64_t batch,
                         ipc::Pin pin, MakeLookup&& lookup_for, const std::function<void()>& beat) {
  const ipc::Placement placement = ipc::plan_placement(pin);
  std::optional<ipc::AffinityGuard> restore;
  if (pin != ipc::Pin::kNone) {
    restore.emplace();
    ipc::pin_this_thread(placement.main_cpu);
  }
  std::vector<Rng> rngs;
  for (std::size_t i = 0; i < readers; ++i) rngs.push_back({kSeed + i});
  std::vector<decltype(lookup_for(0))> lookups;
  for (std::size_t i = 0; i < readers; ++i) lookups.push_back(lookup_for(i));
  ReaderThreads group(readers, placement.peer_cpu, [&](std::size_t i, std::uint64_t n) {
    return lookup_batch(lookups[i], rngs[i], n);
  });
  for (auto _ : state) {
    group.run_batch(batch);
    beat();
  }
  report(state, readers, batch);
}

std::string label_of(std::string_view kind, ipc::Context context, std::size_t readers) {
  return join_name(
      {"dict", kind, ipc::context_name(context), "readers:" + std::to_string(readers)});
}

void BM_DictLocal(benchmark::State& state, ipc::PairOptions pair) {
  guarded(state, "dict/local", [&] {
    const ipc::Dict& dict = the_dict();
    thread_readers_loop(
        state, 1, kFastBatch, pair.pin,
        [&](std::size_t) {
          return [&](std::string_view key, ipc::DictValue& out) {
            auto it = dict.find(key);
            if (it == dict.end()) return false;
            out = it->second;
            return true;
          };
        },
        [] {});
  });
}

void BM_DictLocalPrehashed(benchmark::State& state, ipc::PairOptions pair) {
  guarded(state, "dict/local-prehashed", [&] {
    const PrehashedDict& dict = the_prehashed_dict();
    const std::vector<std::string>& keys = the_keys();
    const std::vector<std::size_t>& hashes = the_key_hashes();
    thread_readers_loop(
        state, 1, kFastBatch, pair.pin,
        [&](std::size_t) {
          return [&](std::size_t k, ipc::DictValue& out) {
            auto it = dict.find(Prehashed{keys[k], hashes[k]});
            if (it == dict.end()) return false;
            out = it->second;
            return true;
          };
        },
        [] {});
  });
}

void BM_DictMutex(benchmark::State& state, std::size_t readers, ipc::PairOptions pair) {
  guarded(state, label_of("mutex", ipc::Context::kThread, readers), [&] {
    const ipc::Dict& dict = the_dict();
    std::shared_mutex mu;
    thread_readers_loop(
        state, readers, kFastBatch, pair.pin,
        [&](std::size_t) {
          return [&](std::string_view key, ipc::DictValue& out) {
            std::shared_lock lock(mu);
            auto it = dict.find(key);
            if (it == dict.end()) return false;
            out = it->second;
            return true;
          };
        },
        [] {});
  });
}

ipc::ShmDict make_shm_dict() {
  ipc::ShmDict dict = ipc::ShmDict::create(ipc::unique_shm_name(), kEntries);
  for (std::size_t i = 0; i < kEntries; ++i) dict.insert(ipc::dict_key(i), ipc::dict_value(i));
  // Every reader is this process or a child of it, so the mapping is inherited and the
  // name can go now: a crash leaves nothing behind.
  dict.unlink();
  return dict;
}

void BM_DictShm(benchmark::State& state, ipc::Context context, std::size_t readers,
                ipc::PairOptions pair) {
  guarded(state, label_of("shm", context, readers), [&] {
    ipc::ShmDict dict = make_shm_dict();
    auto shm_lookup = [&dict](std::string_view key, ipc::DictValue& out) {
      return dict.lookup(key, out);
    };
    if (context == ipc::Context::kThread) {
      thread_readers_loop(
          state, readers, kFastBatch, pair.pin, [&](std::size_t) { return shm_lookup; }, [] {});
      return;
    }
    // Forked readers: "go <n>" over a pipe, answered by the number verified; 0 stops.
    the_keys();  // built before the fork, not in every child
    std::vector<ipc::Channel> channels;
    for (std::size_t i = 0; i < readers; ++i) channels.push_back(ipc::make_pipe_channel({}));
    ipc::run_group(
        context, std::move(channels),
        [&](std::size_t i, ipc::Transport& t) {
          Rng rng{kSeed + i};
          while (std::uint64_t n = recv_count(t, "dict reader"))
            send_count(t, lookup_batch(shm_lookup, rng, n));
        },
        [&](std::span<ipc::Transport* const> ends, const std::function<void()>& beat) {
          for (auto _ : state) {
            for (ipc::Transport* t : ends) send_count(*t, kFastBatch);
            for (std::size_t i = 0; i < ends.size(); ++i) {
              std::uint64_t verified = recv_count(*ends[i], "dict reader");
              if (verified != kFastBatch)
                throw ipc::MessageError("reader " + std::to_string(i) + " verified " +
                                        std::to_string(verified) + " of " +
                                        std::to_string(kFastBatch) + " lookups");
            }
            beat();
          }
          for (ipc::Transport* t : ends) send_count(*t, 0);
          report(state, readers, kFastBatch);
        },
        pair);
  });
}

void BM_DictManager(benchmark::State& state, const ipc::TransportInfo* transport,
                    ipc::Context context, std::size_t readers, ipc::PairOptions pair) {
  const std::string kind = "manager-" + std::string(transport->name);
  guarded(state, label_of(kind, context, readers), [&] {
    const ipc::Dict& dict = the_dict();
    the_keys();
    const ipc::Options options = transport_options(pair);
    // Channel 0 goes to run_pair, which watches the server; the others stay here.
    std::vector<ipc::Channel> channels;
    std::vector<ipc::Transport*> client_ends, server_ends;
    for (std::size_t i = 0; i < readers; ++i) {
      channels.push_back(transport->make(options));
      client_ends.push_back(channels.back().a.get());
      server_ends.push_back(channels.back().b.get());
    }
    auto shut_down_others = [&] {
      for (std::size_t i = 1; i < readers; ++i) {
        if (channels[i].a) channels[i].a->shutdown();
        if (channels[i].b) channels[i].b->shutdown();
      }
    };
    pair.on_peer_exit = [&] {
      for (std::size_t i = 1; i < readers; ++i) channels[i].a->on_peer_exit();
    };
    ipc::Channel first = std::move(channels[0]);
    ipc::run_pair(
        context, std::move(first),
        [&](ipc::Transport& first_end) {
          // run_pair may have wrapped channel 0's end (the test-only fault): serve that.
          std::vector<ipc::Transport*> ends = server_ends;
          ends[0] = &first_end;
          ipc::serve_dict(dict, ends);
        },
        [&](ipc::Transport&, ipc::Heartbeat& heartbeat) {
          // A forked server has its own copies: ours must go, so that its death closes
          // the fd transports' channels.
          if (context == ipc::Context::kProcess)
            for (std::size_t i = 1; i < readers; ++i) channels[i].b.reset();
          try {
            std::vector<ipc::DictClient> clients;
            for (ipc::Transport* t : client_ends) clients.emplace_back(*t);
            thread_readers_loop(
                state, readers, kManagerBatch, ipc::Pin::kNone,
                [&](std::size_t i) {
                  return [&client = clients[i]](std::string_view key, ipc::DictValue& out) {
                    std::optional<ipc::DictValue> v = client.get(key);
                    if (v) out = *v;
                    return v.has_value();
                  };
                },
                [&] { heartbeat.beat(); });
            for (ipc::DictClient& c : clients) c.stop();
          } catch (...) {
            shut_down_others();  // a server thread serving them would wait for ever
            throw;
          }
        },
        pair);
  });
}

}  // namespace

void register_dict(const Config& config) {
  bool threads = false;
  for (ipc::Context c : config.contexts) threads |= c == ipc::Context::kThread;
  if (threads) {
    register_benchmark(label_of("local", ipc::Context::kThread, 1), BM_DictLocal,
                       pair_options(config));
    register_benchmark(label_of("local-prehashed", ipc::Context::kThread, 1), BM_DictLocalPrehashed,
                       pair_options(config));
  }
  for (std::size_t n : kReaderCounts) {
    if (!threads) break;
    register_benchmark(label_of("mutex", ipc::Context::kThread, n), BM_DictMutex, n,
                       pair_options(config));
  }
  for (ipc::Context c : config.contexts)
    for (std::size_t n : kReaderCounts)
      register_benchmark(label_of("shm", c, n), BM_DictShm, c, n, pair_options(config));
  for (const ipc::TransportInfo* t : config.transports)
    for (ipc::Context c : contexts_for(config, *t))
      for (std::size_t n : kReaderCounts)
        register_benchmark(label_of("manager-" + std::string(t->name), c, n), BM_DictManager, t, c,
                           n, pair_options(config));
}

}  // namespace bench
