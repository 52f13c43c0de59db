// Test helpers: a global check that a test leaves no child process, shared-memory
// segment, temporary directory or message queue of ours behind.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ipc/os/queue_names.hpp"

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

// System V message queues whose key is one of ours for our pid (ipc/os/queue_names.hpp),
// from /proc/sysvipc/msg (what `ipcs -q` reads), as "key 0x...".
inline std::vector<std::string> our_sysv_queues() {
  std::vector<std::string> found;
  std::ifstream in("/proc/sysvipc/msg");
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    long long key = 0;
    if (!(fields >> key)) continue;
    if (ipc::sysv_key_owner(static_cast<key_t>(key)) == ::getpid()) {
      std::ostringstream out;
      out << "key 0x" << std::hex << static_cast<unsigned>(key);
      found.push_back(out.str());
    }
  }
  return found;
}

class LeakCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(our_entries("/dev/shm"), std::vector<std::string>{}) << "shared memory left";
    EXPECT_EQ(our_entries("/tmp"), std::vector<std::string>{}) << "temporary files left";
    EXPECT_EQ(our_entries("/dev/mqueue"), std::vector<std::string>{}) << "POSIX queues left";
    EXPECT_EQ(our_sysv_queues(), std::vector<std::string>{}) << "System V queues left";
    errno = 0;
    EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a child process is left";
    EXPECT_EQ(errno, ECHILD);
  }
};

inline const auto* const kLeakCheck = ::testing::AddGlobalTestEnvironment(new LeakCheck);

}  // namespace ipc_test
