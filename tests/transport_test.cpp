// The contract every transport keeps, in every context it supports: messages of any
// size from 1 B to 1 MiB arrive whole, in order and intact, both ways, under backpressure.
// Parameterized over the registry, so a new transport is tested as soon as it is added.
// The peer sides are named entries, so a spawned peer (this test binary in peer mode,
// tests/main.cpp) runs the same code as a thread or a forked one.
#include "ipc/core/transport.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/peer.hpp"
#include "ipc/run/spawn.hpp"
#include "ipc/transports/registry.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
// Sanitizer builds check the code paths, not the volume: 2,000 messages still carry every
// size (two of 1 MiB, twenty of 64 KiB +-1) and wrap the rings several times, at a fifth
// of the 10,000 round trips that took TSan up to 40 s per test.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kMessages = 2'000;
#else
constexpr int kMessages = 10'000;
#endif
constexpr std::size_t kMax = 1 << 20;
constexpr std::uint64_t kReplySeed = 1'000'000;
constexpr milliseconds kTimeout(10'000);

// The largest message the transport under test carries (TransportInfo::max_message):
// set by each test before its peer starts (a forked or spawned peer sets it too, from
// the entry's argument), so both sides agree on the sizes.
// Atomic: in the thread context the peer sets it (to the same value) while the main side
// reads it.
std::atomic<std::size_t> g_limit{kMax};

// Mostly small sizes around the framing edges, a 64 KiB +-1 every 100 messages and a
// 1 MiB one every 1000: all sizes are exercised without copying gigabytes. A transport
// with a smaller limit gets its limit, and the limit - 1, in their place.
std::size_t size_of(int i) {
  static constexpr std::size_t kSmall[] = {1,   2,   7,   8,    9,    15,   16,  17,
                                           100, 255, 256, 1000, 4095, 4096, 4097};
  std::size_t size = kSmall[i % std::size(kSmall)];
  if (i % 1000 == 999) size = kMax;
  if (i % 100 == 50) size = 65536 + static_cast<std::size_t>(i % 3) - 1;
  const std::size_t limit = g_limit.load(std::memory_order_relaxed);
  return size <= limit ? size : limit - static_cast<std::size_t>(i % 2);
}

void set_limit(std::string_view arg) {
  g_limit.store(arg.empty() ? kMax : std::stoul(std::string(arg)), std::memory_order_relaxed);
}

void expect_message(std::span<const std::byte> got, std::size_t size, std::uint64_t seed) {
  if (got.size() != size)
    throw MessageError("message " + std::to_string(seed) + ": " + std::to_string(got.size()) +
                       " bytes, expected " + std::to_string(size));
  check_pattern(got, seed);
}

// The peer sides of the contract tests.
void ping_pong_peer(Transport& t, std::string_view arg) {
  set_limit(arg);
  AlignedBuffer in(kMax), out(kMax);
  for (int i = 0; i < kMessages; ++i) {
    expect_message(in.span().first(t.recv(in.span())), size_of(i), i);
    auto reply = out.span().first(size_of(kMessages - 1 - i));
    fill_pattern(reply, kReplySeed + i);
    t.send(reply);
  }
}

void stream_peer(Transport& t, std::string_view arg) {
  set_limit(arg);
  AlignedBuffer in(kMax);
  std::uint64_t count = 0;
  for (int i = 0; i < kMessages; ++i, ++count)
    expect_message(in.span().first(t.recv(in.span())), size_of(i), i);
  t.send(std::as_bytes(std::span(&count, 1)));
}

void echo_three_peer(Transport& t, std::string_view) {
  std::byte b[8];
  for (int i = 0; i < 3; ++i) t.send(std::span(b, t.recv(b)));
}

// Echoes every message until an empty one.
void echo_peer(Transport& t, std::string_view) {
  AlignedBuffer in(kMax);
  for (std::size_t n; (n = t.recv(in.span())) != 0;) t.send(in.span().first(n));
}

void small_buffer_peer(Transport& t, std::string_view) {
  std::byte small[10];
  t.recv(small);
}

[[maybe_unused]] const bool kRegistered =
    register_peer_entry("contract-ping-pong", ping_pong_peer) &&
    register_peer_entry("contract-stream", stream_peer) &&
    register_peer_entry("contract-echo-three", echo_three_peer) &&
    register_peer_entry("contract-small-buffer", small_buffer_peer) &&
    register_peer_entry("contract-echo", echo_peer);

struct Param {
  const TransportInfo* transport;
  Context context;
};

std::vector<Param> all_params() {
  std::vector<Param> out;
  for (const TransportInfo& t : transports())
    for (Context c : {Context::kThread, Context::kProcess, Context::kSpawn})
      if (c == Context::kThread || (c == Context::kProcess && t.cross_process) ||
          (c == Context::kSpawn && t.listen != nullptr))
        out.push_back({&t, c});
  return out;
}

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  std::string name =
      std::string(info.param.transport->name) + "_" + std::string(context_name(info.param.context));
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

class TransportTest : public ::testing::TestWithParam<Param> {
 protected:
  void run(std::string_view peer_entry, const MainFn& main) {
    Options options;
    options.timeout = kTimeout;
    const TransportInfo& t = *GetParam().transport;
    g_limit = t.max_message != nullptr ? std::min(kMax, t.max_message()) : kMax;
    run_named_pair(GetParam().context, t, options, peer_entry, std::to_string(g_limit.load()), main,
                   {.timeout = kTimeout});
  }
};

TEST_P(TransportTest, PingPongBothWays) {
  EXPECT_NO_THROW(run("contract-ping-pong", [](Transport& t, Heartbeat& h) {
    AlignedBuffer in(kMax), out(kMax);
    for (int i = 0; i < kMessages; ++i) {
      auto msg = out.span().first(size_of(i));
      fill_pattern(msg, i);
      t.send(msg);
      expect_message(in.span().first(t.recv(in.span())), size_of(kMessages - 1 - i),
                     kReplySeed + i);
      h.beat();
    }
  }));
}

TEST_P(TransportTest, StreamOneWayThenAcknowledge) {
#if defined(__SANITIZE_THREAD__)
  // Under TSan, Debian's uninstrumented libzmq streaming 10,000 messages stalls past the
  // watchdog (no progress for 10 s) although no race of ours is reported; the release and
  // ASan builds run it.
  if (std::string_view(GetParam().transport->name).starts_with("zmq-"))
    GTEST_SKIP() << "ZeroMQ streaming under TSan stalls inside libzmq";
#endif
  EXPECT_NO_THROW(run("contract-stream", [](Transport& t, Heartbeat& h) {
    AlignedBuffer out(kMax);
    for (int i = 0; i < kMessages; ++i) {
      auto msg = out.span().first(size_of(i));
      fill_pattern(msg, i);
      t.send(msg);
      h.beat();
    }
    std::uint64_t count = 0;
    ASSERT_EQ(t.recv(std::as_writable_bytes(std::span(&count, 1))), sizeof count);
    EXPECT_EQ(count, static_cast<std::uint64_t>(kMessages));
  }));
}

// Full duplex (the open-loop load scenario): one thread sends while another receives on
// the same end; everything comes back whole and in order.
TEST_P(TransportTest, SendAndReceiveFromTwoThreads) {
  if (!GetParam().transport->full_duplex)
    GTEST_SKIP() << GetParam().transport->name << " is not full duplex (one thread at a time)";
  constexpr int kEchoed = 2000;
  EXPECT_NO_THROW(run("contract-echo", [](Transport& t, Heartbeat& h) {
    std::exception_ptr send_error;
    std::thread sender([&] {
      try {
        AlignedBuffer out(kMax);
        for (int i = 0; i < kEchoed; ++i) {
          auto msg = out.span().first(size_of(i));
          fill_pattern(msg, i);
          t.send(msg);
        }
      } catch (...) {
        send_error = std::current_exception();
        t.shutdown();
      }
    });
    AlignedBuffer in(kMax);
    try {
      for (int i = 0; i < kEchoed; ++i) {
        expect_message(in.span().first(t.recv(in.span())), size_of(i), i);
        h.beat();
      }
    } catch (...) {
      t.shutdown();
      sender.join();
      throw;
    }
    sender.join();
    if (send_error) std::rethrow_exception(send_error);
    t.send({});
  }));
}

TEST_P(TransportTest, EmptyMessagesKeepTheirBoundaries) {
  EXPECT_NO_THROW(run("contract-echo-three", [](Transport& t, Heartbeat&) {
    std::byte one[1]{std::byte{9}}, b[8];
    t.send({});
    t.send(one);
    t.send({});
    EXPECT_EQ(t.recv(b), 0u);
    EXPECT_EQ(t.recv(b), 1u);
    EXPECT_EQ(b[0], std::byte{9});
    EXPECT_EQ(t.recv(b), 0u);
  }));
}

TEST_P(TransportTest, MessageLargerThanTheBufferIsAnError) {
  try {
    run("contract-small-buffer", [](Transport& t, Heartbeat&) {
      std::byte big[100]{};
      t.send(big);
      std::byte b[1];
      t.recv(b);  // the peer fails instead of answering
    });
    FAIL() << "no error";
  } catch (const PeerError& e) {
    EXPECT_NE(std::string(e.what()).find("message of 100 bytes does not fit a 10-byte buffer"),
              std::string::npos)
        << e.what();
  }
}

TEST_P(TransportTest, MessageAboveTheLimitIsRefusedNotSplit) {
  const TransportInfo& t = *GetParam().transport;
  if (t.max_message == nullptr) GTEST_SKIP() << t.name << " has no size limit";
  EXPECT_NO_THROW(run("contract-echo-three", [&](Transport& end, Heartbeat&) {
    AlignedBuffer big(g_limit.load() + 1);
    try {
      end.send(big.span());
      ADD_FAILURE() << "a message above the limit was sent";
    } catch (const MessageError& e) {
      EXPECT_NE(std::string(e.what()).find("limit of " + std::to_string(g_limit.load()) + " bytes"),
                std::string::npos)
          << e.what();
    }
    // Nothing of it went out: the channel still works, in order.
    std::byte b[8]{std::byte{7}};
    for (int i = 0; i < 3; ++i) {
      end.send(std::span(b, 1));
      ASSERT_EQ(end.recv(b), 1u);
      EXPECT_EQ(b[0], std::byte{7});
    }
  }));
}

INSTANTIATE_TEST_SUITE_P(All, TransportTest, ::testing::ValuesIn(all_params()), param_name);

TEST(TransportRegistryTest, UnknownNameListsTheKnownOnes) {
  try {
    find_transport("carrier-pigeon");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown transport 'carrier-pigeon' (known: pipe, ", 0),
              0u)
        << e.what();
  }
  EXPECT_EQ(find_transport("shm-ring").name, "shm-ring");
  EXPECT_FALSE(find_transport("queue").cross_process);
  // Opening by address comes in pairs: a transport has both functions or neither.
  for (const TransportInfo& t : transports())
    EXPECT_EQ(t.listen == nullptr, t.connect == nullptr) << t.name;
  EXPECT_EQ(find_transport("queue").listen, nullptr);
  EXPECT_NE(find_transport("fifo").listen, nullptr);
}

}  // namespace
}  // namespace ipc
