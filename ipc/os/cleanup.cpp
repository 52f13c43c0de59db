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
#include <system_error>

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

void install_interrupt_handler() { start_interrupt_handler(finish_interrupt); }

void remove_on_interrupt(std::string path) { g_extra_paths.push_back(std::move(path)); }

}  // namespace ipc
