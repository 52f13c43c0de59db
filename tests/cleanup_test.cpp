// cleanup: leftovers of dead owners are removed and live ones kept; an interrupt ends the
// children and removes the names; resource exhaustion is an error, not a crash.
#include "ipc/os/cleanup.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <thread>

#include "ipc/os/child_process.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"
#include "ipc/run/peer.hpp"
#include "ipc/transports/registry.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// A pid that belonged to a process that is gone now.
pid_t dead_pid() {
  auto child = ChildProcess::fork([] {});
  pid_t pid = child.pid();
  EXPECT_TRUE(child.wait_for(milliseconds(5000)));
  return pid;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void touch(const std::string& path) { std::ofstream(path) << "x"; }

void make_socket_file(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
}

TEST(ResourceOwnerTest, ParsesOnlyOurPattern) {
  EXPECT_EQ(resource_owner("ipcbench-123-0"), 123);
  EXPECT_EQ(resource_owner("ipcbench-42-a1b2c3"), 42);
  EXPECT_EQ(resource_owner("ipcbench-pyref-abc"), std::nullopt);
  EXPECT_EQ(resource_owner("ipcbench-123"), std::nullopt);
  EXPECT_EQ(resource_owner("ipcbench-123-"), std::nullopt);
  EXPECT_EQ(resource_owner("ipcbench-0-x"), std::nullopt);
  EXPECT_EQ(resource_owner("ipcbench--5-x"), std::nullopt);
  EXPECT_EQ(resource_owner("ipcbench-99999999999999999-x"), std::nullopt);
  EXPECT_EQ(resource_owner("xipcbench-1-2"), std::nullopt);
  EXPECT_EQ(resource_owner(""), std::nullopt);
}

TEST(ResourceOwnerTest, LivenessOfProcesses) {
  EXPECT_TRUE(process_alive(::getpid()));
  EXPECT_TRUE(process_alive(1));  // alive even where we may not signal it
  EXPECT_FALSE(process_alive(dead_pid()));
  EXPECT_FALSE(process_alive(0));
}

TEST(StaleResourcesTest, RemovesDeadOwnersEntriesOnly) {
  TempDir root;
  const std::string dir = root.path();
  const std::string dead = "ipcbench-" + std::to_string(dead_pid()) + "-";
  const std::string live = "ipcbench-" + std::to_string(::getpid()) + "-";

  touch(dir + "/" + dead + "0");                   // a file (a shm object in /dev/shm)
  fs::create_directory(dir + "/" + dead + "dir");  // a TempDir with what scenarios put in it
  touch(dir + "/" + dead + "dir/file");
  ASSERT_EQ(::mkfifo((dir + "/" + dead + "dir/fifo").c_str(), 0600), 0);
  make_socket_file(dir + "/" + dead + "dir/sock");
  fs::create_directory(dir + "/target");  // a link must not be followed
  touch(dir + "/target/keep");
  fs::create_directory_symlink(dir + "/target", dir + "/" + dead + "link");
  touch(dir + "/" + live + "0");
  touch(dir + "/ipcbench-pyref-x");
  touch(dir + "/other-1-2");

  CleanupResult r = remove_stale_resources({dir, dir + "/no-such-dir"});
  EXPECT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.removed.size(), 3u);
  for (const char* gone : {"0", "dir", "link"}) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(dir + "/" + dead + gone))) << gone;
    EXPECT_TRUE(contains(r.removed, dir + "/" + dead + gone)) << gone;
  }
  EXPECT_TRUE(fs::exists(dir + "/target/keep"));
  EXPECT_TRUE(fs::exists(dir + "/" + live + "0"));
  EXPECT_TRUE(fs::exists(dir + "/ipcbench-pyref-x"));
  EXPECT_TRUE(fs::exists(dir + "/other-1-2"));

  CleanupResult own = remove_resources_of(::getpid(), {dir});
  EXPECT_EQ(own.removed, std::vector<std::string>{dir + "/" + live + "0"});
  fs::remove_all(dir + "/target");  // TempDir removes only plain entries
}

TEST(StaleResourcesTest, RemovesARealSharedMemoryObjectOfADeadRun) {
  const std::string name = "/ipcbench-" + std::to_string(dead_pid()) + "-stale";
  {
    UniqueFd fd(::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
    ASSERT_TRUE(fd) << std::strerror(errno);
  }
  CleanupResult r = remove_stale_resources();
  EXPECT_TRUE(contains(r.removed, "/dev/shm" + name));
  errno = 0;
  EXPECT_EQ(::shm_open(name.c_str(), O_RDWR, 0), -1);
  EXPECT_EQ(errno, ENOENT);
}

// The child installs the handler, holds names and a grandchild, and is then signalled.
class InterruptTest : public ::testing::TestWithParam<int> {};

TEST_P(InterruptTest, EndsChildrenRemovesNamesAndExitsWith128PlusSignal) {
  const int sig = GetParam();
  FdPair ready = make_pipe();
  auto child = ChildProcess::fork([&] {
    ready.read.reset();
    install_interrupt_handler();
    // Kept until the signal: never released, as in a benchmark cut short.
    auto* seg = new ShmSegment(ShmSegment::create(unique_shm_name(), 4096));
    auto* dir = new TempDir;
    make_socket_file(dir->path() + "/listener");
    auto* grandchild = new ChildProcess(ChildProcess::fork([] {
      for (;;) ::pause();
    }));
    (void)seg;
    pid_t gpid = grandchild->pid();
    write_all(ready.write.get(), std::as_bytes(std::span(&gpid, 1)), "ready");
    for (;;) ::pause();
  });
  ready.write.reset();
  pid_t gpid = 0;
  read_all(ready.read.get(), std::as_writable_bytes(std::span(&gpid, 1)), "ready");
  const std::string prefix = "ipcbench-" + std::to_string(child.pid()) + "-";
  auto entries = [&](const std::string& dir) {
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind(prefix, 0) == 0) found.push_back(e.path());
    return found;
  };
  EXPECT_EQ(entries("/dev/shm").size(), 1u);
  EXPECT_EQ(entries("/tmp").size(), 1u);

  ASSERT_EQ(::kill(child.pid(), sig), 0);
  auto status = child.wait_for(milliseconds(10000));
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->signaled) << status->describe();
  EXPECT_EQ(status->code, 128 + sig) << status->describe();
  EXPECT_EQ(entries("/dev/shm"), std::vector<std::string>{});
  EXPECT_EQ(entries("/tmp"), std::vector<std::string>{});
  errno = 0;
  EXPECT_EQ(::kill(gpid, 0), -1) << "grandchild " << gpid << " survived";
  EXPECT_EQ(errno, ESRCH);
}

INSTANTIATE_TEST_SUITE_P(Signals, InterruptTest, ::testing::Values(SIGINT, SIGTERM, SIGHUP),
                         [](const auto& info) { return std::string(sigabbrev_np(info.param)); });

TEST(InterruptTest, AForkedChildKeepsTheDefaultAction) {
  auto child = ChildProcess::fork([] {
    install_interrupt_handler();
    FdPair ready = make_pipe();
    auto grandchild = ChildProcess::fork([&] {
      std::byte b{};
      write_all(ready.write.get(), std::span(&b, 1), "ready");
      // Sleeps rather than pause(): TSan delivers a signal at its next intercepted call.
      for (;;) std::this_thread::sleep_for(milliseconds(1));
    });
    std::byte b{};
    read_all(ready.read.get(), std::span(&b, 1), "ready");
    ::kill(grandchild.pid(), SIGTERM);
    auto status = grandchild.wait_for(milliseconds(10000));
    if (!status || !status->signaled || status->code != SIGTERM)
      throw std::runtime_error("grandchild: " + (status ? status->describe() : "still running"));
    if (interrupted()) throw std::runtime_error("the parent counts as interrupted");
  });
  auto status = child.wait_for(milliseconds(10000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->describe();
}

TEST(ExhaustionTest, SharedMemoryThatCannotBeAllocatedIsAClearError) {
  // /dev/shm cannot hold a petabyte: posix_fallocate fails (ENOSPC, or EFBIG), up front.
  try {
    ShmSegment::create(unique_shm_name(), std::size_t{1} << 50);
    FAIL() << "a petabyte of shared memory";
  } catch (const std::system_error& e) {
    std::string what = e.what();
    EXPECT_EQ(what.rfind("posix_fallocate /ipcbench-", 0), 0u) << what;
    EXPECT_TRUE(e.code() == std::errc::no_space_on_device || e.code() == std::errc::file_too_large)
        << what;
  }
  // and the name is gone again (LeakCheck checks /dev/shm at the end, too)
}

TEST(ExhaustionTest, TooManyOpenFilesIsAnErrorForEachTransport) {
#if defined(__SANITIZE_ADDRESS__)
  // UBSan's vptr check probes memory through a pipe of its own; with no descriptor left it
  // reports "object has invalid vptr" for a sound object. Benign: covered in release by
  // this test and tests/reliability_test.py.
  GTEST_SKIP() << "the sanitizer itself needs file descriptors";
#endif
  auto child = ChildProcess::fork([] {
    int open_fds = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) (void)e, ++open_fds;
    rlimit lim{static_cast<rlim_t>(open_fds + 2), static_cast<rlim_t>(open_fds + 2)};
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) throw std::runtime_error("setrlimit");
    int failed = 0;
    for (const TransportInfo& t : transports()) {
      for (Context c : {Context::kThread, Context::kProcess}) {
        if (c == Context::kProcess && !t.cross_process) continue;
        try {
          run_pair(
              c, t.make({}),
              [](Transport& p) {
                std::byte b[8];
                p.send(std::span(b, p.recv(b)));
              },
              [](Transport& m, Heartbeat&) {
                std::byte b[8]{};
                m.send(b);
                m.recv(b);
              },
              {.timeout = milliseconds(2000)});
        } catch (const std::exception& e) {
          if (std::strstr(e.what(), "Too many open files") == nullptr)
            throw std::runtime_error(std::string(t.name) + ": " + e.what());
          ++failed;
        }
      }
    }
    if (failed == 0) throw std::runtime_error("no transport ran out of descriptors");
  });
  auto status = child.wait_for(milliseconds(30000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->describe();
}

}  // namespace
}  // namespace ipc
