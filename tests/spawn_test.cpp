// The spawn context: a peer that is a new program (this test binary in peer mode). One that
// cannot start, exits at once, fails, dies or hangs is reported clearly; names are gone
// once it has opened them; and it never outlives its parent.
#include "ipc/run/spawn.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "ipc/core/error.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/run/peer.hpp"
#include "ipc/transports/registry.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout(2000);

void echo_peer(Transport& t, std::string_view) {
  std::byte b[64];
  for (;;) {
    std::size_t n = t.recv(b);
    if (n == 0) return;
    t.send(std::span(b, n));
  }
}

void exit_at_once_peer(Transport&, std::string_view) { ::_exit(3); }

void throw_peer(Transport& t, std::string_view arg) {
  std::byte b[1];
  t.recv(b);
  throw std::runtime_error("spawned peer failed on purpose: " + std::string(arg));
}

void kill_self_peer(Transport& t, std::string_view) {
  std::byte b[1];
  t.recv(b);
  ::raise(SIGKILL);
}

void hang_peer(Transport& t, std::string_view) {
  std::byte b[1];
  t.send(std::span(b, t.recv(b)));
  ::pause();
}

void send_pid_then_sleep_peer(Transport& t, std::string_view) {
  pid_t pid = ::getpid();
  t.send(std::as_bytes(std::span(&pid, 1)));
  for (;;) ::pause();  // only the death of the parent ends this
}

// Sends how many CPUs it may run on, then the first of them.
void report_affinity_peer(Transport& t, std::string_view) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) throw_errno("sched_getaffinity");
  int cpus[2] = {CPU_COUNT(&set), -1};
  for (int c = 0; c < CPU_SETSIZE && cpus[1] < 0; ++c)
    if (CPU_ISSET(c, &set)) cpus[1] = c;
  t.send(std::as_bytes(std::span(cpus)));
  std::byte b[1];
  t.recv(b);
}

[[maybe_unused]] const bool kRegistered =
    register_peer_entry("report-affinity", report_affinity_peer) &&
    register_peer_entry("echo", echo_peer) &&
    register_peer_entry("exit-at-once", exit_at_once_peer) &&
    register_peer_entry("throw", throw_peer) && register_peer_entry("kill-self", kill_self_peer) &&
    register_peer_entry("hang", hang_peer) &&
    register_peer_entry("send-pid-then-sleep", send_pid_then_sleep_peer);

void one_round_trip(Transport& t, Heartbeat& h) {
  std::byte b[1]{std::byte{7}};
  t.send(b);
  ASSERT_EQ(t.recv(b), 1u);
  EXPECT_EQ(b[0], std::byte{7});
  h.beat();
  t.send({});
}

void ping_forever(Transport& t, Heartbeat& h) {
  std::byte b[1]{};
  for (;;) {
    t.send(b);
    t.recv(b);
    h.beat();
  }
}

// Runs a spawned pair and returns the PeerError text ("" and a test failure if none).
std::string failure(const char* transport, std::string_view entry, const MainFn& main,
                    PairOptions pair = {.timeout = kTimeout}) {
  Options options;
  options.timeout = 3 * pair.timeout;  // a backstop: the watchdog must act first
  auto start = std::chrono::steady_clock::now();
  try {
    run_named_pair(Context::kSpawn, find_transport(transport), options, entry, "x", main, pair);
  } catch (const PeerError& e) {
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4 * pair.timeout) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no PeerError";
  return {};
}

// Each failure case over a transport whose end is inherited and over ones opened by name.
class SpawnFailureTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SpawnFailureTest, OrderlyPairSucceeds) {
  Options options;
  options.timeout = kTimeout;
  EXPECT_NO_THROW(run_named_pair(Context::kSpawn, find_transport(GetParam()), options, "echo", "",
                                 one_round_trip, {.timeout = kTimeout}));
}

TEST_P(SpawnFailureTest, BadExecutableIsReported) {
  PairOptions pair{.timeout = kTimeout};
  pair.spawn.executable = "/nonexistent/ipc_peer";
  EXPECT_EQ(failure(GetParam(), "echo", one_round_trip, pair),
            "cannot start the peer: posix_spawn /nonexistent/ipc_peer: No such file or "
            "directory");
}

TEST_P(SpawnFailureTest, PeerThatExitsAtOnceIsReported) {
  std::string what = failure(GetParam(), "exit-at-once", ping_forever);
  EXPECT_EQ(what, "peer process exited with code 3") << what;
}

TEST_P(SpawnFailureTest, UnknownEntryIsReportedWithTheKnownOnes) {
  std::string what = failure(GetParam(), "carrier-pigeon", ping_forever);
  EXPECT_EQ(what.rfind("peer process exited with code 70: unknown peer entry "
                       "'carrier-pigeon' (known: ",
                       0),
            0u)
      << what;
  EXPECT_NE(what.find("echo"), std::string::npos) << what;
}

TEST_P(SpawnFailureTest, ProgramThatIsNoPeerIsReported) {
  // /bin/true ignores its command line and exits 0 without opening anything.
  PairOptions pair{.timeout = kTimeout};
  pair.spawn.executable = "/bin/true";
  std::string what = failure(GetParam(), "echo", ping_forever, pair);
  EXPECT_NE(what.find("peer"), std::string::npos) << what;
}

TEST_P(SpawnFailureTest, PeerErrorTextIsRelayed) {
  EXPECT_EQ(failure(GetParam(), "throw", ping_forever),
            "peer process exited with code 70: spawned peer failed on purpose: x");
}

TEST_P(SpawnFailureTest, KilledPeerIsReported) {
  EXPECT_EQ(failure(GetParam(), "kill-self", ping_forever),
            "peer process killed by signal 9 (Killed)");
}

TEST_P(SpawnFailureTest, HungPeerIsDetectedAndKilled) {
  // Long enough for a sanitizer build of the peer to start on a busy machine (the same
  // timeout bounds opening the transport), short enough to keep the test quick.
  std::string what = failure(GetParam(), "hang", ping_forever, {.timeout = milliseconds(1000)});
  EXPECT_EQ(what, "no progress within 1000 ms: peer hung (peer process killed)");
}

INSTANTIATE_TEST_SUITE_P(Transports, SpawnFailureTest,
                         ::testing::Values("pipe", "fifo", "tcp", "shm-ring"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(SpawnTest, NamesAreGoneOnceThePeerHasOpenedThem) {
  for (const char* transport : {"fifo", "shm-ring", "shm-boost", "posix-mq"}) {
    Options options;
    options.timeout = kTimeout;
    run_named_pair(
        Context::kSpawn, find_transport(transport), options, "echo", "",
        [&](Transport& t, Heartbeat& h) {
          EXPECT_EQ(ipc_test::our_entries("/tmp"), std::vector<std::string>{}) << transport;
          EXPECT_EQ(ipc_test::our_entries("/dev/shm"), std::vector<std::string>{}) << transport;
          one_round_trip(t, h);
        },
        {.timeout = kTimeout});
  }
}

TEST(SpawnTest, RunPairWithoutSpawnOptionsIsAnErrorNotACrash) {
  // What a scenario written for thread/process would do if handed the spawn context.
  Options options;
  try {
    run_pair(
        Context::kSpawn, find_transport("pipe").make(options), [](Transport&) {},
        [](Transport&, Heartbeat&) {}, {.timeout = kTimeout});
    FAIL() << "no error";
  } catch (const PeerError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("the spawn context needs PairOptions::spawn", 0), 0u)
        << e.what();
  }
}

TEST(SpawnTest, ListenerWithoutAPeerLeavesNothing) {
  for (const TransportInfo& t : transports()) {
    if (t.listen == nullptr) continue;
    Options options;
    auto listener = t.listen(options);
    EXPECT_FALSE(listener->address().empty()) << t.name;
    // An inherited end needs no opening: accept() returns it at once.
    if (listener->inherited_fds().empty())
      EXPECT_THROW(listener->accept(milliseconds(20), -1), TimeoutError) << t.name;
    else
      EXPECT_NE(listener->accept(milliseconds(20), -1), nullptr) << t.name;
  }
  // LeakCheck (test_support.hpp) finds any FIFO or segment left behind.
}

TEST(SpawnTest, BadAddressIsAClearError) {
  Options options;
  try {
    find_transport("pipe").connect("fd:x", options);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "pipe: bad address 'fd:x' (want fd:<n>,<m>)");
  }
  try {
    find_transport("shm-ring").connect("/ipcbench-no-such-segment", options);
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("shm_open /ipcbench-no-such-segment"), std::string::npos);
  }
}

TEST(SpawnTest, PeerDiesWithItsParent) {
  // While we are a subreaper, orphans of our descendants become our children: the peer
  // is then ours to reap, and its status says how it died.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  FdPair report = make_pipe();
  ChildProcess parent = ChildProcess::fork([&] {
    report.read.reset();
    Options options;
    options.timeout = kTimeout;
    run_named_pair(Context::kSpawn, find_transport("pipe"), options, "send-pid-then-sleep", "",
                   [&](Transport& t, Heartbeat&) {
                     pid_t pid = 0;
                     t.recv(std::as_writable_bytes(std::span(&pid, 1)));
                     write_all(report.write.get(), std::as_bytes(std::span(&pid, 1)), "report");
                     ::pause();  // the test kills us here
                   },
                   {.timeout = milliseconds(60'000)});
  });
  report.write.reset();
  pid_t peer = 0;
  read_all(report.read.get(), std::as_writable_bytes(std::span(&peer, 1)), "report");
  ASSERT_GT(peer, 0);
  EXPECT_EQ(::kill(peer, 0), 0) << "the peer should be running";

  parent.kill();
  auto parent_status = parent.wait_for(kTimeout);
  ASSERT_TRUE(parent_status);
  EXPECT_EQ(parent_status->describe(), "killed by signal 9 (Killed)");

  int status = 0;
  pid_t reaped = 0;
  for (int i = 0; i < 500 && reaped == 0; ++i) {
    reaped = ::waitpid(peer, &status, WNOHANG);
    if (reaped == 0) std::this_thread::sleep_for(milliseconds(10));
  }
  if (reaped == 0) {  // still alive: fail, and do not leave it behind
    ::kill(peer, SIGKILL);
    ::waitpid(peer, &status, 0);
    ADD_FAILURE() << "the spawned peer outlived its parent";
  } else {
    ASSERT_EQ(reaped, peer);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }
  errno = 0;
  EXPECT_EQ(::kill(peer, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(SpawnTest, PeerPinsItselfToTheCpuAsked) {
  PairOptions pair{.timeout = kTimeout};
  pair.spawn.peer_cpu = 0;
  Options options;
  options.timeout = kTimeout;
  int cpus[2] = {0, -1};
  run_named_pair(
      Context::kSpawn, find_transport("pipe"), options, "report-affinity", "",
      [&](Transport& t, Heartbeat&) {
        ASSERT_EQ(t.recv(std::as_writable_bytes(std::span(cpus))), sizeof cpus);
        t.send({});
      },
      pair);
  EXPECT_EQ(cpus[0], 1);
  EXPECT_EQ(cpus[1], 0);
}

TEST(SpawnTest, PeerModeRejectsABadCommandLine) {
  // In a forked child: peer mode arms PR_SET_PDEATHSIG, which the test process must not.
  auto child = ChildProcess::fork([] {
    char peer_flag[] = "--peer=echo";
    char bad[] = "--peer-frobnicate=1";
    char* argv[] = {const_cast<char*>("ipc_tests"), peer_flag, bad, nullptr};
    ::_exit(run_peer_mode(3, argv).value_or(0));
  });
  auto status = child.wait_for(kTimeout);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->describe(), "exited with code 64");
  char* not_peer[] = {const_cast<char*>("ipc_tests"), const_cast<char*>("--gtest_x"), nullptr};
  EXPECT_EQ(run_peer_mode(2, not_peer), std::nullopt);
}

TEST(ChildProcessSpawnTest, ExitCodeAndInheritedDescriptor) {
  FdPair pipe = make_pipe();
  const int fd = pipe.write.get();
  int keep[] = {fd};
  auto child = ChildProcess::spawn(
      "/bin/sh",
      [&](int) {
        // Through /proc: dash's ">&N" takes one digit, and the number may be 10 or more.
        return std::vector<std::string>{
            "sh", "-c", "echo hi > /proc/self/fd/" + std::to_string(fd) + "; exit 3"};
      },
      keep);
  pipe.write.reset();
  char buf[16] = {};
  ASSERT_EQ(::read(pipe.read.get(), buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "hi\n");
  auto status = child.wait_for(kTimeout);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->describe(), "exited with code 3");
}

TEST(ChildProcessSpawnTest, OnlyTheGivenDescriptorsAreInherited) {
  FdPair pipe = make_pipe();  // close-on-exec, and not passed
  const int fd = pipe.write.get();
  auto child =
      ChildProcess::spawn("/bin/sh",
                          [&](int) {
                            return std::vector<std::string>{
                                "sh", "-c", "exec 2>/dev/null; echo hi >&" + std::to_string(fd)};
                          },
                          {});
  pipe.write.reset();
  char buf[16];
  EXPECT_EQ(::read(pipe.read.get(), buf, sizeof buf), 0);  // end of file: no writer left
  auto status = child.wait_for(kTimeout);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
}

}  // namespace
}  // namespace ipc
