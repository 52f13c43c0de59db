#include "ipc/os/cleanup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

#include "ipc/core/error.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/interrupt.hpp"
#include "ipc/os/queue_names.hpp"

namespace ipc {
namespace {

namespace fs = std::filesystem;

// Removes one entry of a run that is to go: a queue's marker with its queue, a directory
// with what its manifest lists, or a file (shared memory, FIFO, socket, marker).
void remove_entry(const std::string& path, const std::string& name, CleanupResult& out) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || st.st_uid != ::geteuid()) return;  // gone, or not ours
  // A message queue's marker (queue_names.hpp): the queue first, then the marker.
  if (std::string why = remove_recorded_queue(name); !why.empty()) {
    out.errors.push_back(path + ": " + why);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    CleanupResult owned = release_owned(path);
    out.removed.insert(out.removed.end(), owned.removed.begin(), owned.removed.end());
    out.errors.insert(out.errors.end(), owned.errors.begin(), owned.errors.end());
    if (std::string why = remove_manifest_dir(path); !why.empty())
      out.errors.push_back(path + ": " + why);
    else
      out.removed.push_back(path);
    return;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    out.errors.push_back(path + ": " + std::strerror(errno));
  else
    out.removed.push_back(path);
}

// Removes the entries of `dirs` of every run `doomed` says must go (asked once per run), then
// the owner records in `record_dir` of those runs (also of dead runs that left no entry).
template <typename Doomed>
CleanupResult remove_entries(const std::vector<std::string>& dirs, const std::string& record_dir,
                             Doomed doomed) {
  CleanupResult out;
  std::map<std::pair<pid_t, std::string>, bool> verdicts;
  auto goes = [&](const RunKey& run) {
    auto [it, fresh] = verdicts.try_emplace({run.pid, run.id}, false);
    if (fresh) it->second = doomed(run);
    return it->second;
  };
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    if (ec) continue;  // no such directory: nothing of ours there
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      std::optional<RunKey> run = parse_run_name(name);
      if (run && goes(*run)) remove_entry(it->path().string(), name, out);
    }
  }
  std::error_code ec;
  fs::directory_iterator it(record_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::optional<RunKey> run = parse_record_name(it->path().filename().string());
    if (!run || !goes(*run) || own_run() == run) continue;  // our own goes with the process
    const std::string path = it->path().string();
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      out.errors.push_back(path + ": " + std::strerror(errno));
    else
      out.removed.push_back(path);
  }
  return out;
}

constexpr const char* kOwnedFile = "/owned";

void append_owned(const std::string& dir, const std::string& line) {
  add_to_manifest(dir, kOwnedFile + 1);  // so that whoever removes the directory removes it
  const std::string path = dir + kOwnedFile;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw_errno("open " + path);
  const std::string text = line + '\n';
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    throw_system_error(errno != 0 ? errno : EIO, "write " + path);
}

std::vector<std::string> g_extra_paths;  // remove_on_interrupt()

[[noreturn]] void finish_interrupt(int sig) {
  std::fprintf(stderr,
               "ipcbench: interrupted by SIG%s: stopping child processes and removing "
               "shared memory, FIFOs and sockets\n",
               sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  kill_all_children();
  CleanupResult own = remove_own_resources();
  CleanupResult stale = remove_stale_resources();  // e.g. names of killed children
  for (const std::string& path : g_extra_paths) ::unlink(path.c_str());
  for (const auto* r : {&own, &stale})
    for (const std::string& e : r->errors)
      std::fprintf(stderr, "ipcbench: cannot remove %s\n", e.c_str());
  std::fflush(stderr);
  ::_exit(128 + sig);
}

}  // namespace

RunState judge_run(const RunKey& run, const std::string& record_dir, UniqueFd* lock) noexcept {
  try {
    if (own_run() == run) return RunState::kAlive;
    const std::string path = record_path(record_dir, run);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return RunState::kUnknown;
    const uid_t me = ::geteuid();
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != me ||
        (st.st_mode & 077) != 0)
      return RunState::kUnknown;
    // The owner and its forked children hold the lock while any of them lives, whatever
    // pid namespace they are in; a record is locked before its text is written.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
      return errno == EWOULDBLOCK ? RunState::kAlive : RunState::kUnknown;
    char text[1024];
    const ssize_t n = ::pread(fd.get(), text, sizeof text, 0);
    std::optional<OwnerRecord> record =
        parse_owner_record(std::string_view(text, n > 0 ? static_cast<std::size_t>(n) : 0));
    if (!record || record->uid != me || record->pid != run.pid) return RunState::kUnknown;
    const OwnerRecord self = describe_self();
    // Another boot's pids and start times mean nothing here (and /tmp is usually emptied
    // at boot anyway): not provably dead.
    if (record->boot_id != self.boot_id) return RunState::kUnknown;
    if (record->pid_ns == self.pid_ns) {  // the pid is ours to look up: must be gone or reused
      bool zombie = false;
      if (process_start_time(record->pid, &zombie) == record->start && !zombie)
        return RunState::kAlive;
    }
    // Still the file we locked (no other cleanup removed it and a new run took the name).
    struct stat now;
    if (::lstat(path.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
      return RunState::kUnknown;
    if (lock != nullptr) *lock = std::move(fd);
    return RunState::kDead;
  } catch (...) {
    return RunState::kUnknown;
  }
}

CleanupResult remove_stale_resources(const std::vector<std::string>& dirs,
                                     const std::string& record_dir) {
  try {
    std::vector<UniqueFd> locks;  // held until the runs' names and records are gone
    return remove_entries(dirs, record_dir, [&](const RunKey& run) {
      UniqueFd lock;
      if (judge_run(run, record_dir, &lock) != RunState::kDead) return false;
      locks.push_back(std::move(lock));
      return true;
    });
  } catch (const std::exception& e) {  // bad_alloc and the like: report, never throw
    return {{}, {std::string("cleanup: ") + e.what()}};
  }
}

CleanupResult remove_own_resources(const std::vector<std::string>& dirs) {
  CleanupResult out;
  try {
    const std::optional<RunKey> own = own_run();
    if (own) out = remove_entries(dirs, kRecordDir, [&](const RunKey& run) { return run == *own; });
  } catch (const std::exception& e) {
    out.errors.push_back(std::string("cleanup: ") + e.what());
  }
  release_run_record();
  return out;
}

void record_owned_process(const std::string& dir, pid_t pid) {
  const unsigned long long started = process_start_time(pid);
  if (started == 0) throw_system_error(ESRCH, "record process " + std::to_string(pid));
  append_owned(dir, "process " + std::to_string(pid) + " " + std::to_string(started));
}

void record_owned_path(const std::string& dir, const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) throw_errno("stat " + path);
  append_owned(dir,
               "path " + std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " + path);
}

CleanupResult release_owned(const std::string& dir) noexcept {
  CleanupResult out;
  try {
    std::ifstream in(dir + kOwnedFile);
    std::string line;
    std::vector<std::pair<pid_t, unsigned long long>> processes;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string kind;
      fields >> kind;
      if (kind == "process") {
        long long pid = 0;
        unsigned long long started = 0;
        if (fields >> pid >> started && pid > 0) processes.emplace_back(pid, started);
      }
    }
    for (auto [pid, started] : processes) {
      if (process_start_time(pid) != started) continue;  // gone, or the pid was reused
      ::kill(pid, SIGKILL);
      for (int i = 0; i < 200; ++i) {  // reaped by its parent (us, or init for an orphan)
        bool zombie = false;
        if (process_start_time(pid, &zombie) != started || zombie) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      out.removed.push_back("process " + std::to_string(pid));
    }
    in.clear();  // then the paths, once the processes that made them are gone
    in.seekg(0);
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string kind, path;
      unsigned long long dev = 0, ino = 0;
      if (!(fields >> kind >> dev >> ino) || kind != "path") continue;
      if (!std::getline(fields >> std::ws, path)) continue;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) continue;
      if (::unlink(path.c_str()) == 0 || errno == ENOENT)
        out.removed.push_back(path);
      else
        out.errors.push_back(path + ": " + std::strerror(errno));
    }
  } catch (const std::exception& e) {
    out.errors.push_back(std::string("cleanup: ") + e.what());
  }
  return out;
}

void install_interrupt_handler() { start_interrupt_handler(finish_interrupt); }

void remove_on_interrupt(std::string path) { g_extra_paths.push_back(std::move(path)); }

}  // namespace ipc
