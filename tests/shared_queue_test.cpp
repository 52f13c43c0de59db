// The queues shared by many (ipc/core/shared_queue.hpp), every kind in the registry:
// many putters and takers at once, as threads and as forked processes, each message
// taken by exactly one taker, whole and intact, one putter's messages in its order; a
// small queue, so that putters wait for room and takers for messages; close() wakes
// blocked callers in other processes; timeouts; messages too large.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/transports/registry.hpp"
#include "ipc/transports/shm_mpmc.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;

// A test message: who put it, its number in that putter's sequence, and a body derived
// from both (sizes vary with the number).
constexpr std::size_t kMaxMessage = 200;
constexpr std::uint64_t kStop = ~std::uint64_t{0};

struct Head {
  std::uint64_t seq;
  std::uint32_t from;
  std::uint32_t size;
};

std::size_t put_one(SharedQueue& q, std::uint32_t from, std::uint64_t seq) {
  std::byte buf[kMaxMessage];
  const std::size_t size = sizeof(Head) + (seq * 7 + from) % (kMaxMessage - sizeof(Head) + 1);
  Head h{seq, from, static_cast<std::uint32_t>(size)};
  std::memcpy(buf, &h, sizeof h);
  fill_pattern(std::span(buf + sizeof h, size - sizeof h), seq * 1000003 + from);
  q.put(std::span(buf, size));
  return size;
}

// Takes one message and checks it; returns its head.
Head take_one(SharedQueue& q) {
  std::byte buf[kMaxMessage];
  const std::size_t n = q.get(buf);
  if (n < sizeof(Head)) throw MessageError("short message: " + std::to_string(n));
  Head h;
  std::memcpy(&h, buf, sizeof h);
  if (h.size != n)
    throw MessageError("size " + std::to_string(n) + " != " + std::to_string(h.size));
  if (h.seq != kStop)
    check_pattern(std::span(buf + sizeof h, n - sizeof h), h.seq * 1000003 + h.from);
  return h;
}

// What one taker saw: how many of each putter's messages, a sum of hashes of (putter,
// number) that a loss plus a duplicate would not cancel, and any order violation.
struct Tally {
  std::uint64_t count = 0;
  std::uint64_t hash_sum = 0;
  std::uint64_t disorder = 0;
};

std::uint64_t mix(std::uint64_t from, std::uint64_t seq) {
  std::uint64_t z = (from << 40) ^ seq ^ 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Tally take_until_stop(SharedQueue& q, std::size_t putters) {
  Tally t;
  std::vector<std::int64_t> last(putters, -1);
  for (;;) {
    Head h = take_one(q);
    if (h.seq == kStop) return t;
    if (h.from >= putters) throw MessageError("unknown putter");
    if (static_cast<std::int64_t>(h.seq) <= last[h.from]) ++t.disorder;
    last[h.from] = static_cast<std::int64_t>(h.seq);
    ++t.count;
    t.hash_sum += mix(h.from, h.seq);
  }
}

std::uint64_t expected_hash(std::size_t putters, std::uint64_t per_putter) {
  std::uint64_t sum = 0;
  for (std::uint64_t p = 0; p < putters; ++p)
    for (std::uint64_t s = 0; s < per_putter; ++s) sum += mix(p, s);
  return sum;
}

void put_stop(SharedQueue& q) {
  Head h{kStop, 0, sizeof(Head)};
  q.put(std::as_bytes(std::span(&h, 1)));
}

class SharedQueueTest : public ::testing::TestWithParam<const SharedQueueInfo*> {
 protected:
  // A small queue: a few messages' worth, so that both sides wait often.
  std::unique_ptr<SharedQueue> make(milliseconds timeout = milliseconds(10000)) {
    Options o;
    o.timeout = timeout;
    o.buffer_bytes = 8 * kMaxMessage;
    if (GetParam()->name == "shm-mpmc") return make_shm_mpmc_queue_with_slots(o, kMaxMessage, 8);
    return GetParam()->make(o, kMaxMessage);
  }
};

constexpr std::size_t kPutters = 4, kTakers = 4;
constexpr std::uint64_t kPerPutter = 5000;

TEST_P(SharedQueueTest, ManyThreadsEachMessageOnceInOrderIntact) {
  auto q = make();
  std::vector<Tally> tallies(kTakers);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < kTakers; ++i)
    threads.emplace_back([&, i] {
      try {
        tallies[i] = take_until_stop(*q, kPutters);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "taker " << i << ": " << e.what();
        ++errors;
      }
    });
  std::vector<std::thread> putters;
  for (std::uint32_t p = 0; p < kPutters; ++p)
    putters.emplace_back([&, p] {
      try {
        for (std::uint64_t s = 0; s < kPerPutter; ++s) put_one(*q, p, s);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "putter " << p << ": " << e.what();
        ++errors;
      }
    });
  for (std::thread& t : putters) t.join();
  for (std::size_t i = 0; i < kTakers; ++i) put_stop(*q);
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(errors.load(), 0);
  Tally total;
  for (const Tally& t : tallies) {
    total.count += t.count;
    total.hash_sum += t.hash_sum;
    total.disorder += t.disorder;
  }
  EXPECT_EQ(total.count, kPutters * kPerPutter);
  EXPECT_EQ(total.hash_sum, expected_hash(kPutters, kPerPutter));
  EXPECT_EQ(total.disorder, 0u);
}

TEST_P(SharedQueueTest, ManyProcessesEachMessageOnceInOrderIntact) {
  if (!GetParam()->cross_process) GTEST_SKIP() << "threads only";
  auto q = make();
  // Each taker process writes its tally to its own pipe.
  std::vector<FdPair> reports;
  std::vector<ChildProcess> children;
  for (std::size_t i = 0; i < kTakers; ++i) {
    reports.push_back(make_pipe());
    children.push_back(ChildProcess::fork([&, i] {
      Tally t = take_until_stop(*q, kPutters);
      write_all(reports[i].write.get(), std::as_bytes(std::span(&t, 1)), "report");
    }));
  }
  for (std::uint32_t p = 0; p < kPutters; ++p)
    children.push_back(ChildProcess::fork([&, p] {
      for (std::uint64_t s = 0; s < kPerPutter; ++s) put_one(*q, p, s);
    }));
  for (std::size_t i = kTakers; i < children.size(); ++i) {
    auto status = children[i].wait_for(milliseconds(30000));
    ASSERT_TRUE(status && status->ok()) << (status ? status->describe() : "putter hung");
  }
  for (std::size_t i = 0; i < kTakers; ++i) put_stop(*q);
  Tally total;
  for (std::size_t i = 0; i < kTakers; ++i) {
    auto status = children[i].wait_for(milliseconds(30000));
    ASSERT_TRUE(status && status->ok()) << (status ? status->describe() : "taker hung");
    Tally t;
    read_all(reports[i].read.get(), std::as_writable_bytes(std::span(&t, 1)), "report");
    total.count += t.count;
    total.hash_sum += t.hash_sum;
    total.disorder += t.disorder;
  }
  EXPECT_EQ(total.count, kPutters * kPerPutter);
  EXPECT_EQ(total.hash_sum, expected_hash(kPutters, kPerPutter));
  EXPECT_EQ(total.disorder, 0u);
}

TEST_P(SharedQueueTest, CloseWakesBlockedTakersAndPutters) {
  auto q = make();
  std::vector<std::thread> threads;
  std::atomic<int> closed{0};
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      try {
        take_one(*q);
      } catch (const ClosedError&) {
        ++closed;
      }
    });
  std::this_thread::sleep_for(milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  q->close();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(closed.load(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000));
  EXPECT_THROW(put_one(*q, 0, 0), ClosedError);
}

TEST_P(SharedQueueTest, CloseReachesABlockedTakerInAnotherProcess) {
  if (!GetParam()->cross_process) GTEST_SKIP() << "threads only";
  auto q = make();
  ChildProcess child = ChildProcess::fork([&] {
    try {
      take_one(*q);
    } catch (const ClosedError&) {
      return;  // exit 0: what we want
    }
    throw std::runtime_error("took a message from an empty queue");
  });
  std::this_thread::sleep_for(milliseconds(50));
  q->close();
  auto status = child.wait_for(milliseconds(2000));
  ASSERT_TRUE(status) << "the blocked taker did not wake within 2 s";
  EXPECT_TRUE(status->ok()) << status->describe();
}

TEST_P(SharedQueueTest, EmptyQueueTimesOut) {
  auto q = make(milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(take_one(*q), TimeoutError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
}

TEST_P(SharedQueueTest, FullQueueTimesOut) {
  auto q = make(milliseconds(50));
  EXPECT_THROW(
      {
        for (std::uint64_t s = 0; s < 100000; ++s) put_one(*q, 0, s);
      },
      TimeoutError);
}

TEST_P(SharedQueueTest, MessageLargerThanTheBufferIsAnError) {
  auto q = make();
  put_one(*q, 0, 5);
  std::byte small[8];
  EXPECT_THROW(q->get(small), MessageError);
}

TEST(SharedQueueLimits, PipeRefusesMessagesLargerThanPipeBuf) {
  Options o;
  for (const SharedQueueInfo& k : shared_queues())
    if (k.name == "pipe") {
      ASSERT_NE(k.max_message, nullptr);
      EXPECT_NO_THROW(k.make(o, k.max_message()));
      EXPECT_THROW(k.make(o, k.max_message() + 1), std::invalid_argument);
    }
}

std::vector<const SharedQueueInfo*> kinds() {
  std::vector<const SharedQueueInfo*> out;
  for (const SharedQueueInfo& k : shared_queues()) out.push_back(&k);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Kinds, SharedQueueTest, ::testing::ValuesIn(kinds()),
                         [](const auto& info) {
                           std::string name(info.param->name);
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace ipc
