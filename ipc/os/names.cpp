#include "ipc/os/names.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/os/interrupt.hpp"

namespace ipc {
namespace {

constexpr std::string_view kPrefix = "ipcbench-";
constexpr std::size_t kIdDigits = 16;
constexpr std::string_view kRecordSuffix = ".owner";
constexpr std::string_view kRecordTag = "ipcbench-owner";

// An interrupted run is removing its names: hand out no new ones.
void refuse_if_interrupted(const char* what) {
  if (interrupted()) throw std::runtime_error(std::string(what) + ": the run is being interrupted");
}

// "<pid>-<16 hex>" at the start of `name` (after the prefix); the rest after it.
std::optional<RunKey> parse_key(std::string_view name, std::string_view& rest) noexcept {
  if (name.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end == name.data() || pid <= 0 || name[0] == '0') return std::nullopt;
  name.remove_prefix(static_cast<std::size_t>(end - name.data()));
  if (name.size() < 1 + kIdDigits || name[0] != '-') return std::nullopt;
  std::string_view id = name.substr(1, kIdDigits);
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  rest = name.substr(1 + kIdDigits);
  return RunKey{pid, std::string(id)};
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// This process's run: its record is held open and locked (flock, close-on-exec) for the
// process's life, and inherited by forked children, so the lock is free only once the run
// and every forked copy of it are gone, in whatever pid namespace they ran.
struct OwnRun {
  pid_t pid = 0;  // the process the run belongs to; a forked child has another pid
  std::string id;
  std::string record;
  int fd = -1;
};
std::mutex g_run_mutex;
OwnRun g_run;
// g_run.pid while g_run.fd is open, else 0; read without the mutex, so that a forked child
// (where another thread of the parent may have held the mutex) never waits for it unless it
// started a run of its own.
std::atomic<pid_t> g_run_pid{0};

std::string random_id() {
  unsigned char bytes[kIdDigits / 2];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  std::string id;
  for (unsigned char b : bytes) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", b);
    id += hex;
  }
  return id;
}

// Writes the record of a new run for this process; g_run_mutex is held.
void start_run() {
  OwnRun run;
  run.pid = ::getpid();
  run.id = random_id();
  run.record = record_path(kRecordDir, RunKey{run.pid, run.id});
  const OwnerRecord self = describe_self();
  int fd = ::open(run.record.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw_errno("create owner record " + run.record);
  // Locked before its text is written: a reader that sees a whole record sees it locked.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::unlink(run.record.c_str());
    ::close(fd);
    throw_system_error(err, "flock " + run.record);
  }
  char line[512];
  const int n =
      std::snprintf(line, sizeof line, "%s uid=%u pid=%d start=%llu boot=%s pidns=%s\n",
                    kRecordTag.data(), static_cast<unsigned>(self.uid), static_cast<int>(self.pid),
                    self.start, self.boot_id.c_str(), self.pid_ns.c_str());
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof line ||
      ::write(fd, line, static_cast<std::size_t>(n)) != n) {
    const int err = errno != 0 ? errno : EIO;
    ::unlink(run.record.c_str());
    ::close(fd);
    throw_system_error(err, "write owner record " + run.record);
  }
  run.fd = fd;
  // A forked child's copy of the parent's record stays open (it keeps the lock held while
  // the child lives); this process's own record replaces it as its run.
  g_run = std::move(run);
  g_run_pid.store(g_run.pid);
  add_process_lifetime_name(g_run.record);
}

// The owner record goes when the process exits normally (static destruction runs after
// every function-local static made later, e.g. iceoryx's RouDi and its directory).
struct ReleaseAtExit {
  ~ReleaseAtExit() { release_run_record(); }
} g_release_at_exit;

std::mutex g_lifetime_mutex;
std::vector<std::string> g_lifetime_names;
std::vector<pid_t> g_lifetime_children;

bool plain_name(std::string_view name) noexcept {
  return !name.empty() && name != "." && name != ".." && name != kManifestName &&
         name.find('/') == std::string_view::npos && name.find('\n') == std::string_view::npos;
}

}  // namespace

std::string record_path(const std::string& dir, const RunKey& run) {
  return dir + "/" + std::string(kPrefix) + std::to_string(run.pid) + "-" + run.id +
         std::string(kRecordSuffix);
}

std::optional<RunKey> parse_run_name(std::string_view name) noexcept {
  std::string_view rest;
  std::optional<RunKey> key = parse_key(name, rest);
  if (!key || rest.size() < 2 || rest[0] != '-') return std::nullopt;
  return key;
}

std::optional<RunKey> parse_record_name(std::string_view name) noexcept {
  std::string_view rest;
  std::optional<RunKey> key = parse_key(name, rest);
  if (!key || rest != kRecordSuffix) return std::nullopt;
  return key;
}

std::optional<OwnerRecord> parse_owner_record(std::string_view text) noexcept {
  try {
    std::string first(text.substr(0, text.find('\n')));
    if (first.size() == text.size()) return std::nullopt;  // not a whole line yet
    std::istringstream in(first);
    std::string tag;
    if (!(in >> tag) || tag != kRecordTag) return std::nullopt;
    OwnerRecord r;
    int fields = 0;
    for (std::string kv; in >> kv;) {
      const std::size_t eq = kv.find('=');
      if (eq == std::string::npos) return std::nullopt;
      const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
      if (key == "boot") {
        r.boot_id = value;
      } else if (key == "pidns") {
        r.pid_ns = value;
      } else {
        unsigned long long v = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
        if (key == "uid")
          r.uid = static_cast<uid_t>(v);
        else if (key == "pid")
          r.pid = static_cast<pid_t>(v);
        else if (key == "start")
          r.start = v;
        else
          continue;  // a field a later version added
      }
      ++fields;
    }
    if (fields < 5 || r.pid <= 0 || r.start == 0 || r.boot_id.empty() || r.pid_ns.empty())
      return std::nullopt;
    return r;
  } catch (...) {
    return std::nullopt;
  }
}

unsigned long long process_start_time(pid_t pid, bool* zombie) noexcept {
  try {
    // /proc/self, not /proc/<getpid()>: right even where /proc is another pid namespace's.
    std::ifstream in(pid == ::getpid() ? std::string("/proc/self/stat")
                                       : "/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line)) return 0;
    std::size_t close = line.rfind(')');  // the command may contain spaces and parentheses
    if (close == std::string::npos || close + 2 > line.size()) return 0;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long value = 0;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
      if (i == 3 && zombie) *zombie = field == "Z";
      if (i == 22) value = std::strtoull(field.c_str(), nullptr, 10);
    }
    return value;
  } catch (...) {
    return 0;
  }
}

OwnerRecord describe_self() {
  OwnerRecord r;
  r.uid = ::geteuid();
  r.pid = ::getpid();
  r.start = process_start_time(r.pid);
  r.boot_id = read_first_line("/proc/sys/kernel/random/boot_id");
  char ns[64] = {};
  ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (n > 0) r.pid_ns.assign(ns, static_cast<std::size_t>(n));
  if (r.start == 0 || r.boot_id.empty() || r.pid_ns.empty())
    throw std::runtime_error(
        "owner record: cannot read /proc/self/stat, the boot id or "
        "/proc/self/ns/pid (is /proc mounted?)");
  return r;
}

std::string run_prefix() {
  refuse_if_interrupted("run_prefix");
  std::lock_guard lock(g_run_mutex);
  if (g_run.pid != ::getpid() || g_run.fd < 0) start_run();
  return std::string(kPrefix) + std::to_string(g_run.pid) + "-" + g_run.id + "-";
}

std::optional<RunKey> own_run() noexcept {
  if (g_run_pid.load() != ::getpid()) return std::nullopt;
  std::lock_guard lock(g_run_mutex);
  if (g_run.pid != ::getpid() || g_run.fd < 0) return std::nullopt;
  try {
    return RunKey{g_run.pid, g_run.id};
  } catch (...) {
    return std::nullopt;
  }
}

void release_run_record() noexcept {
  if (g_run_pid.load() != ::getpid()) return;
  std::lock_guard lock(g_run_mutex);
  if (g_run.pid != ::getpid() || g_run.fd < 0) return;
  ::unlink(g_run.record.c_str());
  ::close(g_run.fd);
  g_run.fd = -1;
  g_run_pid.store(0);
}

std::string unique_shm_name() {
  static std::atomic<unsigned> counter{0};
  std::string name = "/";  // not "/" + run_prefix(): GCC 12's false -Wrestrict (PR 105329)
  name += run_prefix();
  name += std::to_string(counter++);
  return name;
}

void add_to_manifest(const std::string& dir, std::string_view name) {
  if (!plain_name(name))
    throw std::invalid_argument("TempDir entry '" + std::string(name) + "': not a plain name");
  const std::string manifest = dir + "/" + kManifestName;
  int fd = ::open(manifest.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_errno("open " + manifest);
  std::string line(name);
  line += '\n';
  const ssize_t n = ::write(fd, line.data(), line.size());  // one write: lines never interleave
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size()))
    throw_system_error(n < 0 ? err : EIO, "write " + manifest);
}

std::string remove_manifest_dir(const std::string& dir,
                                const std::vector<std::string>* listed) noexcept {
  try {
    const std::string manifest = dir + "/" + kManifestName;
    // The file, and what the owner knows without it (its descriptors may have run out).
    std::vector<std::string> names;
    if (listed != nullptr) names = *listed;
    std::ifstream in(manifest);
    if (in.is_open()) {
      for (std::string name; std::getline(in, name);) names.push_back(name);
    } else if (listed == nullptr) {
      // No manifest (a run killed between mkdtemp and its manifest): only an empty
      // directory may go.
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return "";
      return std::string("no manifest, so left alone: ") + std::strerror(errno);
    }
    const uid_t me = ::geteuid();
    for (const std::string& name : names) {
      if (!plain_name(name)) continue;
      const std::string path = dir + "/" + name;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode) || st.st_uid != me) continue;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return "unlink " + name + ": " + std::strerror(errno);
    }
    // Anything else in it was not made by us: the directory stays, with its manifest.
    if (DIR* d = ::opendir(dir.c_str())) {
      std::string foreign;
      while (dirent* e = ::readdir(d)) {
        const std::string_view n = e->d_name;
        if (n != "." && n != ".." && n != kManifestName) foreign = e->d_name;
      }
      ::closedir(d);
      if (!foreign.empty())
        return "holds '" + foreign + "', which ipcbench did not make: left alone";
    }
    if (::unlink(manifest.c_str()) != 0 && errno != ENOENT)
      return "unlink " + manifest + ": " + std::strerror(errno);
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return std::strerror(errno);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

TempDir::TempDir() : owner_pid_(::getpid()) {
  refuse_if_interrupted("TempDir");
  std::string tmpl = "/tmp/" + run_prefix() + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  path_ = buf.data();
  const std::string manifest = path_ + "/" + kManifestName;
  int fd = ::open(manifest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    ::rmdir(path_.c_str());
    throw_system_error(err, "create " + manifest);
  }
  ::close(fd);
}

std::string TempDir::entry(std::string_view name) {
  add_to_manifest(path_, name);
  entries_.emplace_back(name);
  return path_ + "/" + std::string(name);
}

TempDir::~TempDir() {
  if (::getpid() != owner_pid_) return;
  if (std::string why = remove_manifest_dir(path_, &entries_); !why.empty())
    std::fprintf(stderr, "ipcbench: cannot remove %s: %s\n", path_.c_str(), why.c_str());
}

void add_process_lifetime_child(pid_t pid) {
  std::lock_guard lock(g_lifetime_mutex);
  g_lifetime_children.push_back(pid);
}

std::vector<pid_t> process_lifetime_children() {
  std::lock_guard lock(g_lifetime_mutex);
  return g_lifetime_children;
}

void add_process_lifetime_name(std::string path) {
  std::lock_guard lock(g_lifetime_mutex);
  g_lifetime_names.push_back(std::move(path));
}

std::vector<std::string> process_lifetime_names() {
  std::lock_guard lock(g_lifetime_mutex);
  return g_lifetime_names;
}

}  // namespace ipc
