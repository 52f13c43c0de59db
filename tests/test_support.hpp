// Test helpers: a global check that a test leaves no child process, shared-memory
// segment, temporary directory or message queue of ours behind.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ipc/os/names.hpp"
#include "ipc/os/queue_names.hpp"

namespace ipc_test {

// Entries of `dir` whose names start with "ipcbench-<our pid>-", but for those meant to live
// as long as the process (ipc::process_lifetime_names: iceoryx's runtime and RouDi).
inline std::vector<std::string> our_entries(const std::string& dir) {
  std::vector<std::string> found;
  const std::string prefix = "ipcbench-" + std::to_string(::getpid()) + "-";
  const std::vector<std::string> lifetime = ipc::process_lifetime_names();
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0 &&
          std::find(lifetime.begin(), lifetime.end(), dir + "/" + e->d_name) == lifetime.end())
        found.push_back(dir + "/" + e->d_name);
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

// This process's children, from /proc/self/task/<tid>/children.
inline std::vector<pid_t> our_children() {
  std::vector<pid_t> out;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/children");
      for (pid_t pid; in >> pid;) out.push_back(pid);
    }
    ::closedir(d);
  }
  return out;
}

class LeakCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(our_entries("/dev/shm"), std::vector<std::string>{}) << "shared memory left";
    EXPECT_EQ(our_entries("/tmp"), std::vector<std::string>{}) << "temporary files left";
    EXPECT_EQ(our_entries("/dev/mqueue"), std::vector<std::string>{}) << "POSIX queues left";
    EXPECT_EQ(our_sysv_queues(), std::vector<std::string>{}) << "System V queues left";
    const std::vector<pid_t> lifetime = ipc::process_lifetime_children();
    if (lifetime.empty()) {
      errno = 0;
      EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a child process is left";
      EXPECT_EQ(errno, ECHILD);
    } else {  // e.g. iceoryx's RouDi, which lives until exit: any other child is a leak
      std::vector<pid_t> left;
      for (pid_t pid : our_children())
        if (std::find(lifetime.begin(), lifetime.end(), pid) == lifetime.end()) left.push_back(pid);
      EXPECT_EQ(left, std::vector<pid_t>{}) << "a child process is left";
    }
  }
};

inline const auto* const kLeakCheck = ::testing::AddGlobalTestEnvironment(new LeakCheck);

}  // namespace ipc_test
