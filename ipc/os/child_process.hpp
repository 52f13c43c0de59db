// ChildProcess: a forked child running a function, or a spawned program, owned by the
// parent. The destructor kills (SIGKILL) and reaps a child that is still running, so no
// zombie outlives it; a forked child dies with the parent (PR_SET_PDEATHSIG) and leaves
// through _exit; a spawned program must arm PR_SET_PDEATHSIG itself (posix_spawn cannot).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ipc/os/unique_fd.hpp"

namespace ipc {

struct ExitStatus {
  bool signaled = false;
  int code = 0;       // exit code, or the signal number when signaled
  std::string error;  // what the child reported before exiting, if anything
  bool ok() const noexcept { return !signaled && code == 0 && error.empty(); }
  // "exited with code 1: <error>", "killed by signal 9 (Killed)", "exited normally".
  std::string describe() const;
};

class ChildProcess {
 public:
  // Forks; the child runs `body` and exits 0, or, if it throws, writes what() to
  // the parent and exits 70.
  static ChildProcess fork(const std::function<void()>& body);

  // Starts the program at `path` with posix_spawn. glibc's runs the child on the parent's
  // memory until exec (clone CLONE_VM|CLONE_VFORK), so unlike fork it copies no page
  // tables, however large the parent. The program inherits only `keep_fds` (at the same
  // numbers) and the write end of the error pipe, whose number `make_argv` is given; its
  // signal mask is empty. Throws std::system_error when the program cannot be started
  // ("posix_spawn /no/such: No such file or directory").
  static ChildProcess spawn(const std::string& path,
                            const std::function<std::vector<std::string>(int error_fd)>& make_argv,
                            std::span<const int> keep_fds);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const noexcept { return pid_; }
  // A pidfd that polls readable once the child has exited (-1 if unsupported).
  int pidfd() const noexcept { return pidfd_.get(); }
  // Waits up to `timeout` and reaps the child; nullopt if it is still running.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // SIGKILL, if not yet reaped. Never throws.
  void kill() noexcept;
  // Waits up to `timeout` for the child to exit, without reaping it (so its pid stays
  // ours); true if it has. Callable from another thread than the reaping one, before the
  // reap. Never throws.
  bool wait_exited(std::chrono::milliseconds timeout) noexcept;
  bool reaped() const noexcept { return pid_ <= 0; }

 private:
  ChildProcess(pid_t pid, UniqueFd error_pipe);
  std::optional<ExitStatus> try_reap(bool block);

  pid_t pid_ = -1;
  UniqueFd error_pipe_;
  UniqueFd pidfd_;
};

// Kills (SIGKILL) and reaps every ChildProcess of this process not yet reaped, for an
// interrupted run (cleanup.hpp). Up to kMaxTrackedChildren are tracked at once; others
// still die with the parent (PR_SET_PDEATHSIG). Never throws.
inline constexpr int kMaxTrackedChildren = 256;
void kill_all_children() noexcept;

}  // namespace ipc
