// Injected faults: every corruption of the message stream is caught by verify_message
// with a message that says what happened, and every peer fault ends run_pair with an error.
#include "ipc/testing/fault.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/run/peer.hpp"
#include "ipc/transports/pipe.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;

TEST(ParseFaultTest, KindsAndMessageNumbers) {
  Fault f = parse_fault("kill:100");
  EXPECT_EQ(f.kind, FaultKind::kKill);
  EXPECT_EQ(f.at, 100u);
  EXPECT_EQ(parse_fault("hang").at, 0u);
  EXPECT_EQ(parse_fault("bitflip:3").kind, FaultKind::kBitFlip);
  EXPECT_EQ(fault_name(parse_fault("truncate:1").kind), "truncate");
  for (const char* bad : {"kill:", "kill:x", "kill:-1", "kill:1x", "kill:99999999999999999999"}) {
    try {
      parse_fault(bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("must be a whole number"), std::string::npos) << bad;
    }
  }
  try {
    parse_fault("gremlin:1");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "unknown fault 'gremlin' (known: kill, hang, stall, exit, throw, drop, duplicate, "
                 "reorder, bitflip, truncate)");
  }
}

struct Corruption {
  const char* spec;
  const char* caught;  // what verify_message says about the stream
};

// A stream of verified messages 0..5 goes a -> b through a pipe; the fault sits at the
// sending or the receiving end and strikes message 2.
class CorruptionTest : public ::testing::TestWithParam<std::tuple<Corruption, bool>> {};

TEST_P(CorruptionTest, IsReportedAsAnErrorNamingTheMessage) {
  auto [c, at_sender] = GetParam();
  Channel ch = make_pipe_channel({});
  Fault fault = parse_fault(c.spec);
  if (at_sender)
    ch.a = make_faulty_transport(std::move(ch.a), fault, false);
  else
    ch.b = make_faulty_transport(std::move(ch.b), fault, false);
  constexpr std::size_t kSize = 256;
  Message m(kSize);
  for (std::uint64_t seq = 0; seq < 6; ++seq) {
    m.stamp(seq);
    ch.a->send(m.bytes());
  }
  ch.a->shutdown();
  AlignedBuffer in(kSize);
  try {
    for (std::uint64_t seq = 0; seq < 6; ++seq)
      verify_message(in.span().first(ch.b->recv(in.span())), kSize, seq);
    FAIL() << "the corruption went unnoticed";
  } catch (const MessageError& e) {
    EXPECT_STREQ(e.what(), c.caught);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, CorruptionTest,
    ::testing::Combine(
        ::testing::Values(
            Corruption{"drop:2", "message 2: out of order or lost: got sequence number 3"},
            Corruption{"duplicate:2", "message 3: out of order or lost: got sequence number 2"},
            Corruption{"reorder:2", "message 2: out of order or lost: got sequence number 3"},
            Corruption{"bitflip:2", "message 2: checksum mismatch (corrupted)"},
            Corruption{"truncate:2", "message 2: size 255, expected 256"}),
        ::testing::Bool()),
    [](const auto& info) {
      std::string spec = std::get<0>(info.param).spec;
      return spec.substr(0, spec.find(':')) + (std::get<1>(info.param) ? "_sender" : "_receiver");
    });

TEST(CorruptionTest, EmptyMessagesAreNotChangedButCounted) {
  Channel ch = make_pipe_channel({});
  ch.b = make_faulty_transport(std::move(ch.b), parse_fault("truncate:0"), false);
  std::byte b[4]{};
  ch.a->send({});
  ch.a->send(b);
  EXPECT_EQ(ch.b->recv(b), 0u);
  EXPECT_EQ(ch.b->recv(b), 3u);  // the first non-empty one is cut
}

// The peer of a ping-pong: echo until an empty message.
void echo(Transport& t) {
  std::byte b[16];
  for (;;) {
    std::size_t n = t.recv(b);
    if (n == 0) return;
    t.send(std::span(b, n));
  }
}

void ping(Transport& t, Heartbeat& h, int n) {
  std::byte b[16]{};
  for (int i = 0; i < n; ++i) {
    t.send(b);
    t.recv(b);
    h.beat();
  }
  t.send({});
}

std::string pair_failure(Context context, const char* spec) {
  try {
    run_pair(context, make_pipe_channel({.timeout = milliseconds(2000)}), echo,
             [](Transport& t, Heartbeat& h) { ping(t, h, 50); },
             {.timeout = milliseconds(300), .wrap_peer_end = fault_wrapper(parse_fault(spec))});
  } catch (const PeerError& e) {
    return e.what();
  }
  return "no error";
}

TEST(PeerFaultTest, ProcessPeerFaults) {
  EXPECT_EQ(pair_failure(Context::kProcess, "kill:4"), "peer process killed by signal 9 (Killed)");
  EXPECT_EQ(pair_failure(Context::kProcess, "exit:4"), "peer process exited with code 3");
  EXPECT_EQ(pair_failure(Context::kProcess, "throw:4"),
            "peer process exited with code 70: injected fault: throw at message 4");
  EXPECT_EQ(pair_failure(Context::kProcess, "hang:4").rfind("no progress within 300 ms", 0), 0u);
}

TEST(PeerFaultTest, ThreadPeerFaults) {
  EXPECT_EQ(pair_failure(Context::kThread, "kill:4"),
            "peer thread failed: injected fault: kill at message 4 (a thread peer throws)");
  EXPECT_EQ(pair_failure(Context::kThread, "throw:5"),
            "peer thread failed: injected fault: throw at message 5");
  EXPECT_EQ(pair_failure(Context::kThread, "hang:4").rfind("no progress within 300 ms", 0), 0u);
}

TEST(PeerFaultTest, ArmedFaultStrikesOnlyInMatchingScopes) {
  arm_test_fault(parse_fault("throw:0"), "pipe/thread");
  auto run = [] {
    run_pair(Context::kThread, make_pipe_channel({}), echo,
             [](Transport& t, Heartbeat& h) { ping(t, h, 3); }, {.timeout = milliseconds(2000)});
  };
  {
    RunLabel scope("uds/thread");
    EXPECT_NO_THROW(run());
  }
  {
    RunLabel scope("pipe/thread");
    EXPECT_THROW(run(), PeerError);
  }
  EXPECT_NO_THROW(run());  // outside any scope
  arm_test_fault({}, "");
  RunLabel scope("pipe/thread");
  EXPECT_NO_THROW(run());
}

}  // namespace
}  // namespace ipc
