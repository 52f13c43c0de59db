#include "ipc/os/child_process.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>

#include "ipc/core/error.hpp"
#include "ipc/os/interrupt.hpp"
#include "ipc/os/names.hpp"

namespace ipc {
namespace {

// Live children, for kill_all_children(): lock-free slots (0 = free), so that neither a
// fork nor the interrupt thread can meet a lock held by another thread.
std::atomic<pid_t> g_children[kMaxTrackedChildren];

void track(pid_t pid) noexcept {
  for (auto& slot : g_children) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, pid)) return;
  }
}

void untrack(pid_t pid) noexcept {
  for (auto& slot : g_children) {
    pid_t p = pid;
    if (slot.compare_exchange_strong(p, 0)) return;
  }
}

constexpr int kExitFailed = 70;  // EX_SOFTWARE
constexpr std::size_t kMaxError = 4096;

void report_and_exit(int fd, const char* what) noexcept {
  std::size_t n = std::min(std::strlen(what), kMaxError);
  [[maybe_unused]] ssize_t w = ::write(fd, what, n);
  release_run_record();  // _exit runs no destructor: this child's names record goes here
  ::_exit(kExitFailed);
}

}  // namespace

std::string ExitStatus::describe() const {
  std::string s;
  if (signaled)
    s = "killed by signal " + std::to_string(code) + " (" + strsignal(code) + ")";
  else if (code != 0)
    s = "exited with code " + std::to_string(code);
  else
    s = "exited normally";
  if (!error.empty()) s += ": " + error;
  return s;
}

ChildProcess::ChildProcess(pid_t pid, UniqueFd error_pipe)
    : pid_(pid), error_pipe_(std::move(error_pipe)) {
  track(pid);  // every child, however started, for kill_all_children()
  pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

ChildProcess ChildProcess::fork(const std::function<void()>& body) {
  if (interrupted()) throw std::runtime_error("fork: the run is being interrupted");
  FdPair errors = make_pipe();
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    // Die with the parent; if it is already gone, the signal was never armed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(kExitFailed);
    for (auto& slot : g_children) slot.store(0);  // the parent's children are not ours
    restore_default_signals();  // the interrupt handler is the parent's (ipc/os/interrupt.hpp)
    errors.read.reset();
    try {
      body();
    } catch (const std::exception& e) {
      report_and_exit(errors.write.get(), e.what());
    } catch (...) {
      report_and_exit(errors.write.get(), "unknown exception");
    }
    release_run_record();
    ::_exit(0);
  }
  return ChildProcess(pid, std::move(errors.read));
}

ChildProcess ChildProcess::spawn(
    const std::string& path, const std::function<std::vector<std::string>(int error_fd)>& make_argv,
    std::span<const int> keep_fds) {
  FdPair errors = make_pipe();
  std::vector<std::string> args = make_argv(errors.write.get());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (int err = ::posix_spawn_file_actions_init(&actions); err != 0)
    throw_system_error(err, "posix_spawn_file_actions_init");
  if (int err = ::posix_spawnattr_init(&attr); err != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    throw_system_error(err, "posix_spawnattr_init");
  }
  int err = 0;
  // dup2 of a descriptor onto itself clears its FD_CLOEXEC in the child (POSIX issue 411,
  // glibc >= 2.29): everything else of ours is close-on-exec and stays behind.
  for (int fd : keep_fds)
    if (err == 0) err = ::posix_spawn_file_actions_adddup2(&actions, fd, fd);
  if (err == 0)
    err = ::posix_spawn_file_actions_adddup2(&actions, errors.write.get(), errors.write.get());
  sigset_t none;
  sigemptyset(&none);
  if (err == 0) err = ::posix_spawnattr_setsigmask(&attr, &none);
  if (err == 0) err = ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  if (err == 0) err = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), environ);
  ::posix_spawnattr_destroy(&attr);
  ::posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw_system_error(err, "posix_spawn " + path);
  return ChildProcess(pid, std::move(errors.read));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      error_pipe_(std::move(other.error_pipe_)),
      pidfd_(std::move(other.pidfd_)) {}

ChildProcess::~ChildProcess() {
  if (reaped()) return;
  kill();
  try {
    try_reap(true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ipcbench: reaping child %d: %s\n", pid_, e.what());
  }
}

void ChildProcess::kill() noexcept {
  if (!reaped()) ::kill(pid_, SIGKILL);
}

bool ChildProcess::wait_exited(std::chrono::milliseconds timeout) noexcept {
  if (reaped()) return true;
  if (pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    return r > 0;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_)
      return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (reaped()) throw std::logic_error("ChildProcess::wait_for: already reaped");
  if (pidfd_) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    if (r < 0) throw_errno("poll pidfd");
    if (r == 0) return std::nullopt;
    return try_reap(true);
  }
  // No pidfd: poll waitpid.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto status = try_reap(false)) return status;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::optional<ExitStatus> ChildProcess::try_reap(bool block) {
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == 0) return std::nullopt;
  if (r < 0 && errno == ECHILD && interrupted()) {
    // The interrupt thread reaped it first (kill_all_children): it was killed.
    pid_ = -1;
    return ExitStatus{true, SIGKILL, {}};
  }
  if (r < 0) throw_errno("waitpid " + std::to_string(pid_));
  untrack(pid_);
  pid_ = -1;
  ExitStatus out;
  out.signaled = WIFSIGNALED(status);
  out.code = out.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
  char buf[kMaxError];
  ssize_t n;
  while ((n = ::read(error_pipe_.get(), buf, sizeof buf)) > 0) out.error.append(buf, n);
  return out;
}

void kill_all_children() noexcept {
  for (auto& slot : g_children)
    if (pid_t pid = slot.load(); pid > 0) ::kill(pid, SIGKILL);
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid <= 0) continue;
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    slot.compare_exchange_strong(pid, 0);
  }
}

}  // namespace ipc
