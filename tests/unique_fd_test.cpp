#include "ipc/os/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <thread>

#include "ipc/core/error.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(UniqueFdTest, ClosesOnDestructionAndMoves) {
  int raw;
  {
    FdPair p = make_pipe();
    raw = p.read.get();
    UniqueFd moved = std::move(p.read);
    EXPECT_FALSE(p.read);
    EXPECT_EQ(moved.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFdTest, ReleaseGivesUpOwnership) {
  FdPair p = make_pipe();
  int raw = p.write.release();
  EXPECT_FALSE(p.write);
  EXPECT_TRUE(is_open(raw));
  UniqueFd again(raw);
  again.reset();
  EXPECT_FALSE(is_open(raw));
}

TEST(UniqueFdTest, ReadAtEndOfFileIsClosedError) {
  FdPair p = make_pipe();
  p.write.reset();
  std::byte b[4];
  try {
    read_some(p.read.get(), b, "test pipe");
    FAIL() << "no exception";
  } catch (const ClosedError& e) {
    EXPECT_STREQ(e.what(), "read test pipe: peer closed");
  }
}

TEST(UniqueFdTest, WriteToClosedPipeIsClosedError) {
  ::signal(SIGPIPE, SIG_IGN);
  FdPair p = make_pipe();
  p.read.reset();
  std::byte b[4]{};
  EXPECT_THROW(write_all(p.write.get(), b, "test pipe"), ClosedError);
}

TEST(UniqueFdTest, BadDescriptorNamesTheCallAndTheError) {
  std::byte b[4];
  try {
    read_some(12345, b, "nothing");
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
    EXPECT_STREQ(e.what(), "read nothing: Bad file descriptor");
  }
}

TEST(UniqueFdTest, InterruptWakesABlockedReader) {
  FdPair p = make_pipe();
  std::thread reader([&] {
    std::byte b[4];
    EXPECT_THROW(read_some(p.read.get(), b, "pipe"), ClosedError);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  interrupt_fd(p.write.get());  // the only writer goes: the reader sees end of file
  reader.join();
  EXPECT_TRUE(is_open(p.write.get()));  // the number stays ours until reset
}

}  // namespace
}  // namespace ipc
