#include "ipc/os/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;

TEST(ChildProcessTest, NormalExit) {
  auto child = ChildProcess::fork([] {});
  auto status = child.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok());
  EXPECT_EQ(status->describe(), "exited normally");
  EXPECT_TRUE(child.reaped());
}

TEST(ChildProcessTest, ExceptionIsReportedWithItsText) {
  auto child = ChildProcess::fork([] { throw std::runtime_error("disk on fire"); });
  auto status = child.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->ok());
  EXPECT_EQ(status->code, 70);
  EXPECT_EQ(status->describe(), "exited with code 70: disk on fire");
}

TEST(ChildProcessTest, DeathBySignalIsReported) {
  auto child = ChildProcess::fork([] { ::raise(SIGKILL); });
  auto status = child.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->signaled);
  EXPECT_EQ(status->code, SIGKILL);
  EXPECT_EQ(status->describe(), "killed by signal 9 (Killed)");
}

TEST(ChildProcessTest, WaitTimesOutOnARunningChild) {
  auto child = ChildProcess::fork([] { ::pause(); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(child.wait_for(milliseconds(100)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(90));
  child.kill();
  auto status = child.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, SIGKILL);
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto child = ChildProcess::fork([] { ::pause(); });
    pid = child.pid();
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  errno = 0;
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: not even a zombie
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace ipc
