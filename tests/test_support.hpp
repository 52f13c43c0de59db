// Test helpers: a global check that a test leaves no child process, shared-memory
// segment or temporary directory of ours behind.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace ipc_test {

// Entries of `dir` whose names start with "ipcbench-<our pid>-".
inline std::vector<std::string> our_entries(const std::string& dir) {
  std::vector<std::string> found;
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) found.push_back(dir + "/" + e->d_name);
    ::closedir(d);
  }
  return found;
}

class LeakCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(our_entries("/dev/shm"), std::vector<std::string>{}) << "shared memory left";
    EXPECT_EQ(our_entries("/tmp"), std::vector<std::string>{}) << "temporary files left";
    errno = 0;
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a child process is left";
    EXPECT_EQ(errno, ECHILD);
  }
};

inline const auto* const kLeakCheck = ::testing::AddGlobalTestEnvironment(new LeakCheck);

}  // namespace ipc_test
