// cleanup: leftovers of dead owners are removed and live ones kept; an interrupt ends the
// children and removes the names; resource exhaustion is an error, not a crash.
#include "ipc/os/cleanup.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
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
#include <iterator>
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

// A scratch directory that is not one of our names (so no cleanup ever owns it).
class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/cleanup-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::system_error(errno, std::generic_category());
    path_ = tmpl;
  }
  ~ScratchDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

constexpr char kId[] = "0123456789abcdef";

// An owner record as a run would leave it, in `dir`; `pid_ns` and `start` may be faked.
std::string write_record(const std::string& dir, const RunKey& run, const std::string& pid_ns,
                         unsigned long long start) {
  const OwnerRecord self = describe_self();
  const std::string path = record_path(dir, run);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  EXPECT_TRUE(fd) << std::strerror(errno);
  const std::string text = "ipcbench-owner uid=" + std::to_string(self.uid) +
                           " pid=" + std::to_string(run.pid) + " start=" + std::to_string(start) +
                           " boot=" + self.boot_id + " pidns=" + pid_ns + "\n";
  EXPECT_EQ(::write(fd.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  return path;
}

std::string run_name(const RunKey& run, const std::string& rest) {
  return "ipcbench-" + std::to_string(run.pid) + "-" + run.id + "-" + rest;
}

TEST(RunNamesTest, ParsesOnlyNamesWithARunId) {
  EXPECT_EQ(parse_run_name("ipcbench-123-0123456789abcdef-0"), (RunKey{123, kId}));
  EXPECT_EQ(parse_run_name("ipcbench-42-0123456789abcdef-XXXXXX"), (RunKey{42, kId}));
  EXPECT_EQ(parse_run_name("ipcbench-42-0123456789abcdef-mq-3"), (RunKey{42, kId}));
  for (const char* foreign :
       {"ipcbench-2024-notes", "ipcbench-20261201-base.json", "ipcbench-123-0",
        "ipcbench-123-a1b2c3", "ipcbench-123-0123456789ABCDEF-0", "ipcbench-123-0123456789abcde-0",
        "ipcbench-123-0123456789abcdef-", "ipcbench-123-0123456789abcdef",
        "ipcbench-123-0123456789abcdef.owner", "ipcbench-0123-0123456789abcdef-0",
        "ipcbench-0-0123456789abcdef-0", "ipcbench-pyref-abc", "xipcbench-1-0123456789abcdef-0",
        "ipcbench-99999999999999999-0123456789abcdef-0", ""})
    EXPECT_EQ(parse_run_name(foreign), std::nullopt) << foreign;
  EXPECT_EQ(parse_record_name("ipcbench-123-0123456789abcdef.owner"), (RunKey{123, kId}));
  EXPECT_EQ(parse_record_name("ipcbench-123-0123456789abcdef-0"), std::nullopt);
  EXPECT_EQ(parse_record_name("ipcbench-123-0123456789abcdef.owner~"), std::nullopt);
}

TEST(RunNamesTest, ARunsNamesShareItsIdAndItsRecordIsPrivateAndLocked) {
  const std::string name = unique_shm_name();
  std::optional<RunKey> run = own_run();
  ASSERT_TRUE(run);
  EXPECT_EQ(name.rfind("/" + run_prefix(), 0), 0u) << name;
  EXPECT_EQ(parse_run_name(name.substr(1)), run);
  const std::string record = record_path(kRecordDir, *run);
  struct stat st;
  ASSERT_EQ(::lstat(record.c_str(), &st), 0) << record;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(record);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::optional<OwnerRecord> r = parse_owner_record(text);
  ASSERT_TRUE(r) << text;
  EXPECT_EQ(r->pid, ::getpid());
  EXPECT_EQ(r->uid, ::geteuid());
  EXPECT_EQ(r->start, process_start_time(::getpid()));
  EXPECT_EQ(judge_run(*run), RunState::kAlive);
  // Another process sees the lock held (a forked child holds it too, and names its own run).
  auto child = ChildProcess::fork([&] {
    if (judge_run(*run) != RunState::kAlive)
      throw std::runtime_error("the parent's run looks dead");
    if (parse_run_name(unique_shm_name().substr(1)) == run)
      throw std::runtime_error("a forked child shares its parent's run");
  });
  auto status = child.wait_for(milliseconds(10000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->describe();
}

TEST(StaleResourcesTest, LookalikesAndNamesWithoutAProvingRecordSurvive) {
  ScratchDir scratch;
  const std::string dir = scratch.path();
  const pid_t dead = dead_pid();
  const std::string d = std::to_string(dead);
  // A user's directory and file, our own earlier --benchmark_out, an old-style name.
  fs::create_directory(dir + "/ipcbench-" + d + "-notes");
  touch(dir + "/ipcbench-" + d + "-notes/todo.txt");
  touch(dir + "/ipcbench-20261201-base.json");
  touch(dir + "/ipcbench-2024-notes");
  touch(dir + "/ipcbench-" + d + "-0");
  // Run names whose record is missing, another user's, of another boot, or still locked.
  const RunKey no_record{dead, "00000000000000aa"}, foreign{dead, "00000000000000bb"},
      other_boot{dead, "00000000000000cc"}, locked{dead, "00000000000000dd"};
  for (const RunKey& run : {no_record, foreign, other_boot, locked}) {
    touch(dir + "/" + run_name(run, "0"));
    fs::create_directory(dir + "/" + run_name(run, "dir"));
  }
  const std::string ns = describe_self().pid_ns;
  const std::string foreign_record = write_record(dir, foreign, ns, 1);
  ASSERT_EQ(::chown(foreign_record.c_str(), 65534, 65534), 0) << std::strerror(errno);
  {
    const std::string path = record_path(dir, other_boot);
    std::ofstream(path) << "ipcbench-owner uid=" << ::geteuid() << " pid=" << dead
                        << " start=1 boot=00000000-0000-0000-0000-000000000000 pidns=" << ns
                        << "\n";
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }
  // A live run in another pid namespace: its pid means nothing here, its lock holds.
  UniqueFd held(::open(write_record(dir, locked, "pid:[1]", 1).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);

  std::vector<std::string> before;
  for (const auto& e : fs::recursive_directory_iterator(dir)) before.push_back(e.path());
  CleanupResult r = remove_stale_resources({dir}, dir);
  EXPECT_EQ(r.removed, std::vector<std::string>{});
  EXPECT_EQ(r.errors, std::vector<std::string>{});
  std::vector<std::string> after;
  for (const auto& e : fs::recursive_directory_iterator(dir)) after.push_back(e.path());
  EXPECT_EQ(after, before);
  EXPECT_EQ(judge_run(locked, dir), RunState::kAlive);
  EXPECT_EQ(judge_run(no_record, dir), RunState::kUnknown);
  EXPECT_EQ(judge_run(foreign, dir), RunState::kUnknown);
  EXPECT_EQ(judge_run(other_boot, dir), RunState::kUnknown);

  // Once the other namespace's run is gone (its lock free), its names go.
  held.reset();
  EXPECT_EQ(judge_run(locked, dir), RunState::kDead);
  r = remove_stale_resources({dir}, dir);
  EXPECT_EQ(r.errors, std::vector<std::string>{});
  EXPECT_EQ(r.removed.size(), 3u);
  EXPECT_FALSE(fs::exists(dir + "/" + run_name(locked, "0")));
  EXPECT_FALSE(fs::exists(record_path(dir, locked)));
  EXPECT_TRUE(fs::exists(dir + "/ipcbench-" + d + "-notes/todo.txt"));
}

TEST(StaleResourcesTest, RemovesADeadRunsNamesAndOnlyWhatItMade) {
  ScratchDir scratch;
  const std::string dir = scratch.path();
  const RunKey dead{dead_pid(), kId};
  const std::string pid_ns = describe_self().pid_ns;
  write_record(dir, dead, pid_ns, process_start_time(::getpid()));
  const std::string p = dir + "/" + run_name(dead, "");
  touch(p + "0");  // a file (a shm object in /dev/shm)
  // A TempDir: what its manifest lists goes, with it.
  fs::create_directory(p + "dir");
  touch(p + "dir/file");
  ASSERT_EQ(::mkfifo((p + "dir/fifo").c_str(), 0600), 0);
  make_socket_file(p + "dir/sock");
  std::ofstream(p + "dir/" + kManifestName) << "file\nfifo\nsock\n../escape\n";
  touch(dir + "/escape");
  // One where someone put a file the run did not make: that file and its directory stay.
  fs::create_directory(p + "shared");
  touch(p + "shared/made");
  touch(p + "shared/users-file");
  std::ofstream(p + "shared/" + kManifestName) << "made\n";
  // A symbolic link is removed, never followed.
  fs::create_directory(dir + "/target");
  touch(dir + "/target/keep");
  fs::create_directory_symlink(dir + "/target", p + "link");

  CleanupResult r = remove_stale_resources({dir}, dir);
  for (const char* gone : {"0", "dir", "link"}) {
    EXPECT_FALSE(fs::exists(fs::symlink_status(p + gone))) << gone;
    EXPECT_TRUE(contains(r.removed, p + gone)) << gone;
  }
  EXPECT_TRUE(contains(r.removed, record_path(dir, dead)));
  EXPECT_FALSE(fs::exists(record_path(dir, dead)));
  EXPECT_EQ(r.removed.size(), 4u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], p + "shared: holds 'users-file', which ipcbench did not make: left alone");
  EXPECT_FALSE(fs::exists(p + "shared/made"));
  EXPECT_TRUE(fs::exists(p + "shared/users-file"));
  EXPECT_TRUE(fs::exists(dir + "/escape"));
  EXPECT_TRUE(fs::exists(dir + "/target/keep"));
}

TEST(StaleResourcesTest, AKilledProcessesRealNamesAreReaped) {
  FdPair ready = make_pipe();
  auto child = ChildProcess::fork([&] {
    ready.read.reset();
    // Held until SIGKILL, as in a run killed mid-benchmark.
    auto* seg = new ShmSegment(ShmSegment::create(unique_shm_name(), 4096));
    auto* dir = new TempDir;
    make_socket_file(dir->entry("listener"));
    (void)seg;
    std::byte b{};
    write_all(ready.write.get(), std::span(&b, 1), "ready");
    for (;;) ::pause();
  });
  ready.write.reset();
  std::byte b{};
  read_all(ready.read.get(), std::span(&b, 1), "ready");
  const std::string prefix = "ipcbench-" + std::to_string(child.pid()) + "-";
  auto entries = [&] {
    std::vector<std::string> found;
    for (const char* d : {"/dev/shm", "/tmp"})
      for (const auto& e : fs::directory_iterator(d))
        if (e.path().filename().string().rfind(prefix, 0) == 0) found.push_back(e.path());
    return found;
  };
  EXPECT_EQ(entries().size(), 3u);  // the segment, the directory, the owner record
  remove_stale_resources();
  EXPECT_EQ(entries().size(), 3u) << "a live run's names went";
  child.kill();
  ASSERT_TRUE(child.wait_for(milliseconds(10000)));
  remove_stale_resources();
  EXPECT_EQ(entries(), std::vector<std::string>{});
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
    make_socket_file(dir->entry("listener"));
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
  EXPECT_EQ(entries("/tmp").size(), 2u);  // the directory and the run's owner record

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
    run_prefix();  // the run's owner record stays open (locked) for the process's life
    // Two descriptor numbers left: the limit is on numbers, and open ones may leave gaps
    // (e.g. the parent's owner record, inherited) or lie above it.
    int limit = 0;
    for (int free_numbers = 0; free_numbers < 2; ++limit)
      if (::fcntl(limit, F_GETFD) < 0) ++free_numbers;
    rlimit lim{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
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
