// Names of OS objects (shared-memory segments, temporary directories) that are unique per
// run: they carry the owner's pid ("ipcbench-<pid>-<n>"), so two runs never collide.
//
// The rule every scenario follows, so that cleanup.hpp can remove what a dead or
// interrupted run left: a named object lives in /dev/shm or /tmp and is named
// "ipcbench-<pid>-..." (use these helpers; socket files and FIFOs go inside a TempDir),
// where <pid> is a process that outlives every use of the name (the name is removed as
// soon as that process is gone). Both helpers throw once the run is being interrupted.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

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

// Names that live as long as the process that made them (e.g. the iceoryx runtime's socket,
// the directory of this run's RouDi): removed at its exit (or by the next run after a
// crash), not when the code that made them returns. A test's leak check skips them.
void add_process_lifetime_name(std::string path);
std::vector<std::string> process_lifetime_names();
// The same for a child process (this run's RouDi): stopped and reaped at exit.
void add_process_lifetime_child(pid_t pid);
std::vector<pid_t> process_lifetime_children();

}  // namespace ipc
