// Floor channels: the baton (busy-polled and futex) and the raw byte streams make round
// trips in both contexts, stop in-band, and end promptly on shutdown.
#include "ipc/fixtures/floor.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <thread>

#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/peer.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
constexpr int kRoundTrips = 20'000;
constexpr milliseconds kTimeout(10'000);

Options options() {
  Options o;
  o.timeout = kTimeout;
  return o;
}

struct BatonCase {
  BatonEnd::Mode mode;
  Context context;
};

class BatonTest : public ::testing::TestWithParam<BatonCase> {};

TEST_P(BatonTest, PassesBackAndForthThenStops) {
  int peer_turns = -1;  // only seen in the thread context
  int main_turns = 0;
  run_pair(
      GetParam().context, make_baton_channel(options(), GetParam().mode),
      [&](Transport& t) {
        auto& end = static_cast<BatonEnd&>(t);
        int turns = 0;
        while (end.take()) {
          ++turns;
          end.pass();
        }
        if (turns != kRoundTrips) throw MessageError("peer saw " + std::to_string(turns));
        peer_turns = turns;
      },
      [&](Transport& t, Heartbeat& h) {
        auto& end = static_cast<BatonEnd&>(t);
        for (int i = 0; i < kRoundTrips; ++i) {
          end.pass();
          ASSERT_TRUE(end.take());
          ++main_turns;
          h.beat();
        }
        end.pass(true);
      },
      {.timeout = kTimeout});
  EXPECT_EQ(main_turns, kRoundTrips);
  if (GetParam().context == Context::kThread) {
    EXPECT_EQ(peer_turns, kRoundTrips);
  }
}

TEST_P(BatonTest, CarriesAPayloadEachWayThroughOneSlotOrARing) {
  constexpr int kMessages = 2'000;
  for (int slots : {1, BatonEnd::kRingSlots}) {
    SCOPED_TRACE("slots: " + std::to_string(slots));
    run_pair(
        GetParam().context, make_baton_channel(options(), GetParam().mode, slots),
        [](Transport& t) {
          auto& end = static_cast<BatonEnd&>(t);
          std::array<std::byte, BatonEnd::kPayloadBytes> buf;
          for (int i = 0; end.take(buf); ++i) {
            check_pattern(buf, i);
            fill_pattern(buf, i + kMessages);  // a different reply
            end.pass(buf);
          }
        },
        [](Transport& t, Heartbeat& h) {
          auto& end = static_cast<BatonEnd&>(t);
          std::array<std::byte, BatonEnd::kPayloadBytes> out, in;
          for (int i = 0; i < kMessages; ++i) {
            fill_pattern(out, i);
            end.pass(out);
            ASSERT_TRUE(end.take(in));
            check_pattern(in, i + kMessages);
            h.beat();
          }
          end.stop_payload();
        },
        {.timeout = kTimeout});
  }
}

TEST(BatonPayloadTest, AnOverwrittenMessageIsAnError) {
  Channel ch = make_baton_channel(options(), BatonEnd::Mode::kSpin, 1);
  auto& a = static_cast<BatonEnd&>(*ch.a);
  auto& b = static_cast<BatonEnd&>(*ch.b);
  std::array<std::byte, BatonEnd::kPayloadBytes> buf{};
  a.pass(buf);
  a.pass(buf);  // one slot: message 1 overwrites message 0 before it was taken
  try {
    b.take(buf);
    FAIL() << "no error";
  } catch (const MessageError& e) {
    EXPECT_EQ(std::string(e.what()),
              "floor baton: message 0: out of order or lost (its slot says message 1)");
  }
}

TEST_P(BatonTest, TheTransportInterfaceCarriesTheSameSignals) {
  Channel ch = make_baton_channel(options(), GetParam().mode);
  std::byte b[1]{};
  ch.a->send(b);
  EXPECT_EQ(ch.b->recv(b), 1u);
  ch.b->send({});
  EXPECT_EQ(ch.a->recv(b), 0u);
}

TEST_P(BatonTest, ShutdownEndsAWaitingTake) {
  Channel ch = make_baton_channel(options(), GetParam().mode);
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ch.a->shutdown();
  });
  auto& end = static_cast<BatonEnd&>(*ch.b);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(end.take(), ClosedError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));
  closer.join();
}

TEST(BatonTimeoutTest, NoBatonIsATimeout) {
  Options o;
  o.timeout = milliseconds(100);
  for (auto mode : {BatonEnd::Mode::kSpin, BatonEnd::Mode::kFutex}) {
    Channel ch = make_baton_channel(o, mode);
    try {
      static_cast<BatonEnd&>(*ch.a).take();
      FAIL() << "no timeout";
    } catch (const TimeoutError& e) {
      EXPECT_EQ(std::string(e.what()), "floor baton: no progress from the peer within 100 ms");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, BatonTest,
                         ::testing::Values(BatonCase{BatonEnd::Mode::kSpin, Context::kThread},
                                           BatonCase{BatonEnd::Mode::kSpin, Context::kProcess},
                                           BatonCase{BatonEnd::Mode::kFutex, Context::kThread},
                                           BatonCase{BatonEnd::Mode::kFutex, Context::kProcess}),
                         [](const auto& info) {
                           return std::string(info.param.mode == BatonEnd::Mode::kSpin ? "spin_"
                                                                                       : "futex_") +
                                  std::string(context_name(info.param.context));
                         });

struct RawCase {
  ChannelFactory make;
  const char* name;
  Context context;
};

class RawFdTest : public ::testing::TestWithParam<RawCase> {};

TEST_P(RawFdTest, EchoesUntilTheStreamEnds) {
  run_pair(
      GetParam().context, GetParam().make(options()),
      [](Transport& t) {
        auto& end = static_cast<RawFdEnd&>(t);
        std::byte buf[64];
        for (std::size_t n; (n = end.read_once(buf)) != 0;)
          if (end.write_once(std::span(buf, n)) != n) throw MessageError("short write");
      },
      [](Transport& t, Heartbeat& h) {
        auto& end = static_cast<RawFdEnd&>(t);
        std::byte out[64], in[64];
        for (int i = 0; i < 2000; ++i) {
          std::memset(out, i & 0xff, sizeof out);
          ASSERT_EQ(end.write_once(out), sizeof out);
          ASSERT_EQ(end.read_once(in), sizeof in);
          ASSERT_EQ(std::memcmp(in, out, sizeof in), 0);
          h.beat();
        }
        end.end_stream();
        EXPECT_EQ(end.read_once(in), 0u);  // the peer saw the end and exited
      },
      {.timeout = kTimeout});
}

// As run_pair ends a thread pair: both ends shut down (a pipe reader blocked in read(2)
// wakes when the other end's writer goes, not when its own descriptor is replaced).
TEST_P(RawFdTest, ShutdownOfBothEndsEndsABlockedRead) {
  Channel ch = GetParam().make(options());
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    ch.a->shutdown();
    ch.b->shutdown();
  });
  std::byte buf[8];
  EXPECT_EQ(static_cast<RawFdEnd&>(*ch.a).read_once(buf), 0u);
  closer.join();
}

INSTANTIATE_TEST_SUITE_P(
    All, RawFdTest,
    ::testing::Values(RawCase{make_raw_pipe_channel, "pipe", Context::kThread},
                      RawCase{make_raw_pipe_channel, "pipe", Context::kProcess},
                      RawCase{make_raw_fifo_channel, "fifo", Context::kThread},
                      RawCase{make_raw_fifo_channel, "fifo", Context::kProcess},
                      RawCase{make_raw_uds_channel, "uds", Context::kThread},
                      RawCase{make_raw_uds_channel, "uds", Context::kProcess}),
    [](const auto& info) {
      return std::string(info.param.name) + "_" + std::string(context_name(info.param.context));
    });

}  // namespace
}  // namespace ipc
