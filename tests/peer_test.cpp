// run_pair: the peer's failures, deaths and hangs are reported, quickly, in both contexts.
#include "ipc/run/peer.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "ipc/core/error.hpp"
#include "ipc/transports/pipe.hpp"
#include "ipc/transports/shm_ring.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout(300);

struct Case {
  Context context;
  bool shm;  // shared memory has no end-of-file: death must be noticed another way
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(context_name(info.param.context)) + (info.param.shm ? "_shm" : "_pipe");
}

class PeerTest : public ::testing::TestWithParam<Case> {
 protected:
  Channel channel() {
    Options o;
    o.timeout = 3 * kTimeout;  // the transport's own timeout is only a backstop
    return GetParam().shm ? make_shm_ring_channel(o, WaitStrategy::kSpinThenFutex)
                          : make_pipe_channel(o);
  }
  bool process() const { return GetParam().context == Context::kProcess; }

  // Runs the pair and returns the PeerError text, checking it came within the timeout.
  std::string failure(const PeerFn& peer, const MainFn& main) {
    auto start = std::chrono::steady_clock::now();
    try {
      run_pair(GetParam().context, channel(), peer, main, {.timeout = kTimeout});
    } catch (const PeerError& e) {
      EXPECT_LT(std::chrono::steady_clock::now() - start, 4 * kTimeout) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "no PeerError";
    return {};
  }
};

// The main side of a ping-pong: one byte out, one byte back, forever.
void ping_forever(Transport& t, Heartbeat& h) {
  std::byte b[1]{};
  for (;;) {
    t.send(b);
    t.recv(b);
    h.beat();
  }
}

void echo_n(Transport& t, int n) {
  std::byte b[1];
  for (int i = 0; i < n; ++i) t.send(std::span(b, t.recv(b)));
}

TEST_P(PeerTest, OrderlyPairSucceeds) {
  EXPECT_NO_THROW(run_pair(
      GetParam().context, channel(), [](Transport& t) { echo_n(t, 100); },
      [](Transport& t, Heartbeat& h) {
        std::byte b[1]{std::byte{42}};
        for (int i = 0; i < 100; ++i) {
          t.send(b);
          ASSERT_EQ(t.recv(b), 1u);
          ASSERT_EQ(b[0], std::byte{42});
          h.beat();
        }
      },
      {.timeout = kTimeout}));
}

TEST_P(PeerTest, PeerThatThrowsIsReportedWithItsText) {
  std::string what = failure(
      [](Transport& t) {
        echo_n(t, 3);
        throw std::runtime_error("checksum mismatch at 3");
      },
      ping_forever);
  EXPECT_EQ(what, process() ? "peer process exited with code 70: checksum mismatch at 3"
                            : "peer thread failed: checksum mismatch at 3");
}

TEST_P(PeerTest, PeerThatExitsEarlyIsReported) {
  std::string what = failure([](Transport& t) { echo_n(t, 5); }, ping_forever);
  EXPECT_NE(what.find("closed"), std::string::npos) << what;
}

// A thread cannot be killed alone: this one is for process peers only.
class KilledPeerTest : public PeerTest {};

TEST_P(KilledPeerTest, KilledPeerIsReported) {
  std::string what = failure(
      [](Transport& t) {
        echo_n(t, 5);
        ::raise(SIGKILL);
      },
      ping_forever);
  EXPECT_EQ(what, "peer process killed by signal 9 (Killed)");
}

TEST_P(PeerTest, HungPeerIsDetectedAndStopped) {
  std::string what = failure(
      [this](Transport& t) {
        echo_n(t, 5);
        if (process()) {
          ::pause();  // stops reading for good
        } else {
          std::byte b[1];
          t.recv(b);  // waits for a message that never comes, until shut down
          t.recv(b);
        }
      },
      [](Transport& t, Heartbeat& h) {
        std::byte b[1]{};
        for (int i = 0; i < 6; ++i) {  // the sixth reply never comes
          t.send(b);
          t.recv(b);
          h.beat();
        }
      });
  EXPECT_EQ(what.rfind("no progress within 300 ms: peer hung", 0), 0u) << what;
}

TEST_P(PeerTest, MainErrorWinsOverTheShutdownItCauses) {
  std::string what = failure([](Transport& t) { echo_n(t, 1000); },
                             [](Transport& t, Heartbeat&) {
                               std::byte b[1]{};
                               t.send(b);
                               t.recv(b);
                               throw MessageError("message 0: checksum mismatch (corrupted)");
                             });
  EXPECT_EQ(what, "message 0: checksum mismatch (corrupted)");
}

TEST_P(PeerTest, PeerThatDoesNotExitIsStopped) {
  std::string what = failure(
      [](Transport& t) {
        std::byte b[1];
        for (;;) t.recv(b);  // never sees a stop message
      },
      [](Transport& t, Heartbeat& h) {
        std::byte b[1]{};
        t.send(b);
        h.beat();
      });
  EXPECT_NE(what.find("did not"), std::string::npos) << what;
  EXPECT_NE(what.find("after the last message"), std::string::npos) << what;
}

INSTANTIATE_TEST_SUITE_P(Contexts, PeerTest,
                         ::testing::Values(Case{Context::kThread, false},
                                           Case{Context::kThread, true},
                                           Case{Context::kProcess, false},
                                           Case{Context::kProcess, true}),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Processes, KilledPeerTest,
                         ::testing::Values(Case{Context::kProcess, false},
                                           Case{Context::kProcess, true}),
                         case_name);

TEST(ContextTest, NamesRoundTrip) {
  EXPECT_EQ(parse_context("thread"), Context::kThread);
  EXPECT_EQ(parse_context("process"), Context::kProcess);
  EXPECT_EQ(parse_context("spawn"), Context::kSpawn);
  EXPECT_EQ(parse_context("fibre"), std::nullopt);
  EXPECT_EQ(context_name(Context::kProcess), "process");
  EXPECT_EQ(context_name(Context::kSpawn), "spawn");
}

}  // namespace
}  // namespace ipc
