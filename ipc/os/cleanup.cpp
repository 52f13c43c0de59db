#include "ipc/os/cleanup.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
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
constexpr std::string_view kPrefix = "ipcbench-";

template <typename Keep>
CleanupResult remove_entries(const std::vector<std::string>& dirs, Keep keep) {
  CleanupResult out;
  const uid_t me = ::geteuid();
  for (const std::string& dir : dirs) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    if (ec) continue;  // no such directory: nothing of ours there
    for (; it != end; it.increment(ec)) {
      if (ec) break;
      const std::string name = it->path().filename().string();
      std::optional<pid_t> owner = resource_owner(name);
      if (!owner || keep(*owner)) continue;
      const std::string path = it->path().string();
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0 || st.st_uid != me) continue;  // not ours
      // A message queue's marker (queue_names.hpp): the queue first, then the marker.
      if (std::string why = remove_recorded_queue(name); !why.empty()) {
        out.errors.push_back(path + ": " + why);
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        CleanupResult owned = release_owned(path);
        out.removed.insert(out.removed.end(), owned.removed.begin(), owned.removed.end());
        out.errors.insert(out.errors.end(), owned.errors.begin(), owned.errors.end());
      }
      std::error_code rm;
      fs::remove_all(it->path(), rm);  // does not follow symbolic links
      if (rm && rm != std::errc::no_such_file_or_directory)
        out.errors.push_back(path + ": " + rm.message());
      else
        out.removed.push_back(path);
    }
  }
  return out;
}

constexpr const char* kOwnedFile = "/owned";

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or 0; `zombie` is set
// for a process that has exited but is not yet reaped.
unsigned long long start_time(pid_t pid, bool* zombie = nullptr) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  std::size_t close = line.rfind(')');  // the command may contain spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long value = 0;
  for (int i = 3; i <= 22 && rest >> field; ++i) {
    if (i == 3 && zombie) *zombie = field == "Z";
    if (i == 22) value = std::strtoull(field.c_str(), nullptr, 10);
  }
  return value;
}

void append_owned(const std::string& dir, const std::string& line) {
  std::ofstream out(dir + kOwnedFile, std::ios::app);
  out << line << '\n';
  out.flush();
  if (!out) throw_system_error(EIO, "write " + dir + kOwnedFile);
}

std::vector<std::string> g_extra_paths;  // remove_on_interrupt()

[[noreturn]] void finish_interrupt(int sig) {
  std::fprintf(stderr,
               "ipcbench: interrupted by SIG%s: stopping child processes and removing "
               "shared memory, FIFOs and sockets\n",
               sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
  kill_all_children();
  CleanupResult own = remove_resources_of(::getpid());
  CleanupResult stale = remove_stale_resources();  // e.g. names of killed children
  for (const std::string& path : g_extra_paths) ::unlink(path.c_str());
  for (const auto* r : {&own, &stale})
    for (const std::string& e : r->errors)
      std::fprintf(stderr, "ipcbench: cannot remove %s\n", e.c_str());
  std::fflush(stderr);
  ::_exit(128 + sig);
}

}  // namespace

std::optional<pid_t> resource_owner(std::string_view name) noexcept {
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end == name.data() || pid <= 0) return std::nullopt;
  std::string_view rest(end, name.data() + name.size() - end);
  if (rest.size() < 2 || rest[0] != '-') return std::nullopt;
  return pid;
}

bool process_alive(pid_t pid) noexcept {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

CleanupResult remove_stale_resources(const std::vector<std::string>& dirs) {
  try {
    return remove_entries(dirs, [](pid_t owner) { return process_alive(owner); });
  } catch (const std::exception& e) {  // bad_alloc and the like: report, never throw
    return {{}, {std::string("cleanup: ") + e.what()}};
  }
}

CleanupResult remove_resources_of(pid_t pid, const std::vector<std::string>& dirs) {
  try {
    return remove_entries(dirs, [pid](pid_t owner) { return owner != pid; });
  } catch (const std::exception& e) {
    return {{}, {std::string("cleanup: ") + e.what()}};
  }
}

void record_owned_process(const std::string& dir, pid_t pid) {
  const unsigned long long started = start_time(pid);
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
      if (start_time(pid) != started) continue;  // gone, or the pid was reused
      ::kill(pid, SIGKILL);
      for (int i = 0; i < 200; ++i) {  // reaped by its parent (us, or init for an orphan)
        bool zombie = false;
        if (start_time(pid, &zombie) != started || zombie) break;
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
