// The shm-ring's own protocol, in the smallest ring (one page a direction), where every
// path runs often: chunks that meet the ring's end, messages larger than the ring,
// a producer waiting for space, the mix of packed and line-aligned payloads, and a
// message too large for the receiver's buffer, after which the ring is still in step.
#include "ipc/transports/shm_ring.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/peer.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout(10000);
constexpr std::size_t kRing = 4096;
constexpr std::size_t kMax = 3 * kRing + 5;  // up to three rings' worth

struct Case {
  WaitStrategy wait;
  Context context;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const char* wait = info.param.wait == WaitStrategy::kSpin    ? "spin"
                     : info.param.wait == WaitStrategy::kFutex ? "futex"
                                                               : "spin_then_futex";
  return std::string(wait) + "_" + std::string(context_name(info.param.context));
}

// Sizes that hit every case: empty, around a word, around kAlignFrom (1024), around
// the ring, several rings. Seeded, so a failure repeats.
std::size_t size_of(std::mt19937& rng) {
  static constexpr std::size_t kEdges[] = {0,    1,    7,    8,    9,    56,   57,  64,
                                           1023, 1024, 1025, 4024, 4095, 4096, kMax};
  std::uniform_int_distribution<std::size_t> pick(0, 2 * std::size(kEdges));
  std::size_t i = pick(rng);
  if (i < std::size(kEdges)) return kEdges[i];
  return std::uniform_int_distribution<std::size_t>(0, kMax)(rng);
}

class ShmRingTest : public ::testing::TestWithParam<Case> {
 protected:
  void run(const PeerFn& peer, const MainFn& main) {
    Options options;
    options.timeout = kTimeout;
    options.buffer_bytes = kRing;
    run_pair(GetParam().context, make_shm_ring_channel(options, GetParam().wait), peer, main,
             {.timeout = kTimeout});
  }
};

// The peer: sends `n` messages back as they came.
void echo_n(Transport& t, int n) {
  AlignedBuffer buf(kMax);
  for (int i = 0; i < n; ++i) t.send(buf.span().first(t.recv(buf.span())));
}

TEST_P(ShmRingTest, EchoesMessagesOfEverySizeIntact) {
  constexpr int kMessages = 600;
  EXPECT_NO_THROW(run([](Transport& t) { echo_n(t, kMessages); },
                      [](Transport& t, Heartbeat& h) {
                        std::mt19937 rng(42);
                        AlignedBuffer out(kMax), in(kMax);
                        for (int i = 0; i < kMessages; ++i) {
                          auto msg = out.span().first(size_of(rng));
                          fill_pattern(msg, i);
                          t.send(msg);
                          std::size_t n = t.recv(in.span());
                          ASSERT_EQ(n, msg.size()) << "message " << i;
                          check_pattern(in.span().first(n), i);
                          h.beat();
                        }
                      }));
}

TEST_P(ShmRingTest, StreamsFasterThanTheReceiverReads) {
  // The producer runs ahead and waits for space again and again; the consumer is slow.
  constexpr int kMessages = 300;
  EXPECT_NO_THROW(run(
      [](Transport& t) {
        AlignedBuffer in(kMax);
        std::mt19937 rng(7);
        for (int i = 0; i < kMessages; ++i) {
          std::size_t n = t.recv(in.span());
          if (n != size_of(rng)) throw MessageError("message " + std::to_string(i) + ": size");
          check_pattern(in.span().first(n), i);
          if (i % 16 == 0) std::this_thread::sleep_for(milliseconds(1));
        }
        std::byte done[1]{};
        t.send(done);
      },
      [](Transport& t, Heartbeat& h) {
        std::mt19937 rng(7);
        AlignedBuffer out(kMax);
        for (int i = 0; i < kMessages; ++i) {
          auto msg = out.span().first(size_of(rng));
          fill_pattern(msg, i);
          t.send(msg);
          h.beat();
        }
        std::byte done[1];
        EXPECT_EQ(t.recv(done), 1u);
      }));
}

TEST_P(ShmRingTest, TooLargeAMessageIsAnErrorAndTheNextStillArrives) {
  EXPECT_NO_THROW(run(
      [](Transport& t) {
        AlignedBuffer big(kMax);
        fill_pattern(big.span(), 1);
        t.send(big.span());  // three chunks and more
        fill_pattern(big.span().first(100), 2);
        t.send(big.span().first(100));
        std::byte ack[1];
        t.recv(ack);
      },
      [](Transport& t, Heartbeat&) {
        AlignedBuffer in(1000);
        try {
          t.recv(in.span());
          ADD_FAILURE() << "no error";
        } catch (const MessageError& e) {
          EXPECT_EQ(std::string(e.what()), "shm-ring: message of " + std::to_string(kMax) +
                                               " bytes does not fit a 1000-byte buffer");
        }
        std::size_t n = t.recv(in.span());
        ASSERT_EQ(n, 100u);
        check_pattern(in.span().first(n), 2);
        std::byte ack[1]{};
        t.send(ack);
      }));
}

INSTANTIATE_TEST_SUITE_P(All, ShmRingTest,
                         ::testing::Values(Case{WaitStrategy::kSpin, Context::kThread},
                                           Case{WaitStrategy::kSpin, Context::kProcess},
                                           Case{WaitStrategy::kFutex, Context::kThread},
                                           Case{WaitStrategy::kFutex, Context::kProcess},
                                           Case{WaitStrategy::kSpinThenFutex, Context::kThread},
                                           Case{WaitStrategy::kSpinThenFutex, Context::kProcess}),
                         case_name);

}  // namespace
}  // namespace ipc
