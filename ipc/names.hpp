// Names of OS objects (shared-memory segments, temporary directories) that are unique per
// run: they carry the owner's pid ("ipcbench-<pid>-<n>"), so two runs never collide.
#pragma once

#include <string>
#include <string_view>

namespace ipc {

// "/ipcbench-<pid>-<n>", for shm_open and Boost.Interprocess.
std::string unique_shm_name();

// A private directory /tmp/ipcbench-<pid>-XXXXXX (mode 0700). The creating process
// removes it and its entries in the destructor; a forked copy does not.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  int owner_pid_;
};

}  // namespace ipc
