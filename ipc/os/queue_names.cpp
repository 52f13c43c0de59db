#include "ipc/os/queue_names.hpp"

#include <fcntl.h>
#include <mqueue.h>
#include <sys/msg.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "ipc/core/error.hpp"
#include "ipc/os/interrupt.hpp"
#include "ipc/os/names.hpp"

namespace ipc {
namespace {

constexpr std::string_view kPrefix = "ipcbench-";
constexpr unsigned kPidBits = 22;  // PID_MAX_LIMIT is 2^22 on 64-bit Linux
constexpr unsigned kCounterBits = 6;

void refuse_if_interrupted(const char* what) {
  if (interrupted()) throw std::runtime_error(std::string(what) + ": the run is being interrupted");
}

key_t make_key(pid_t pid, unsigned n) noexcept {
  return static_cast<key_t>((kSysvKeyTag << 28) | (static_cast<unsigned>(pid) << kCounterBits) |
                            (n & ((1u << kCounterBits) - 1)));
}

std::string hex_key(key_t key) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(key));
  return buf;
}

// "<pid>-<run id>-<kind>-<rest>" after the prefix: the pid and <rest>, if <kind> matches.
bool parse_marker(std::string_view name, std::string_view kind, pid_t& pid,
                  std::string_view& rest) noexcept {
  std::optional<RunKey> run = parse_run_name(name);
  if (!run) return false;
  pid = run->pid;
  name.remove_prefix(kPrefix.size() + std::to_string(run->pid).size() + 1 + run->id.size() + 1);
  if (name.size() < kind.size() + 2 || name.substr(0, kind.size()) != kind ||
      name[kind.size()] != '-')
    return false;
  rest = name.substr(kind.size() + 1);
  return !rest.empty();
}

}  // namespace

QueueMarker::QueueMarker(std::string path) : path_(std::move(path)), owner_pid_(::getpid()) {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    path_.clear();
    throw_system_error(err, "queue marker");
  }
  ::close(fd);
}

QueueMarker::QueueMarker(QueueMarker&& other) noexcept
    : path_(std::move(other.path_)), owner_pid_(other.owner_pid_) {
  other.path_.clear();
}

QueueMarker& QueueMarker::operator=(QueueMarker&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    owner_pid_ = other.owner_pid_;
    other.path_.clear();
  }
  return *this;
}

void QueueMarker::release() noexcept {
  if (path_.empty()) return;
  if (::getpid() == owner_pid_) ::unlink(path_.c_str());
  path_.clear();
}

RecordedMqName record_mq_name() {
  refuse_if_interrupted("record_mq_name");
  static std::atomic<unsigned> counter{0};
  const std::string base = run_prefix() + "mq-" + std::to_string(counter++);
  return {"/" + base, QueueMarker("/tmp/" + base)};
}

RecordedSysvQueue create_sysv_queue() {
  refuse_if_interrupted("create_sysv_queue");
  static std::atomic<unsigned> counter{0};
  const pid_t pid = ::getpid();
  if (static_cast<unsigned>(pid) >= (1u << kPidBits))
    throw std::runtime_error("sysv-mq: pid " + std::to_string(pid) +
                             " does not fit the 22 bits of our queue keys");
  // Another live queue of ours (or anyone's) may hold a key: try the next one.
  for (unsigned tries = 0; tries < (1u << kCounterBits); ++tries) {
    const key_t key = make_key(pid, counter++);
    RecordedSysvQueue q;
    q.key = key;
    q.marker = QueueMarker("/tmp/" + run_prefix() + "msq-" + hex_key(key));
    q.id = ::msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (q.id >= 0) return q;
    if (errno != EEXIST) throw_errno("msgget key 0x" + hex_key(key));
  }
  throw std::runtime_error("sysv-mq: all 64 queue keys of pid " + std::to_string(pid) +
                           " are taken");
}

std::size_t read_kernel_limit(const char* path) {
  std::FILE* f = std::fopen(path, "re");
  unsigned long long v = 0;
  const bool ok = f != nullptr && std::fscanf(f, "%llu", &v) == 1;
  if (f != nullptr) std::fclose(f);
  if (!ok) throw std::runtime_error(std::string("cannot read the kernel limit ") + path);
  return static_cast<std::size_t>(v);
}

bool remove_sysv_queue(int id, key_t key) noexcept {
  msqid_ds ds{};
  if (::msgctl(id, IPC_STAT, &ds) != 0) return false;
  if (ds.msg_perm.__key != key) return false;  // the id was reused: not ours
  return ::msgctl(id, IPC_RMID, nullptr) == 0;
}

pid_t sysv_key_owner(key_t key) noexcept {
  const auto k = static_cast<unsigned>(key);
  if ((k >> 28) != kSysvKeyTag) return 0;
  return static_cast<pid_t>((k >> kCounterBits) & ((1u << kPidBits) - 1));
}

std::string remove_recorded_queue(std::string_view entry_name) noexcept {
  try {
    pid_t pid = 0;
    std::string_view rest;
    if (parse_marker(entry_name, "mq", pid, rest)) {
      std::string name(1, '/');
      name.append(entry_name);
      if (::mq_unlink(name.c_str()) != 0 && errno != ENOENT)
        return "mq_unlink " + name + ": " + std::strerror(errno);
      return "";
    }
    if (parse_marker(entry_name, "msq", pid, rest)) {
      unsigned k = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), k, 16);
      const auto key = static_cast<key_t>(k);
      if (ec != std::errc() || end != rest.data() + rest.size() || sysv_key_owner(key) != pid)
        return "";  // not a key of ours: only the marker goes
      const int id = ::msgget(key, 0);
      if (id < 0) return "";  // already gone
      msqid_ds ds{};
      if (::msgctl(id, IPC_STAT, &ds) != 0 || ds.msg_perm.cuid != ::geteuid()) return "";
      if (!remove_sysv_queue(id, key) && errno != EINVAL && errno != EIDRM)
        return "msgctl IPC_RMID key 0x" + hex_key(key) + ": " + std::strerror(errno);
    }
    return "";
  } catch (const std::exception& e) {
    return std::string("queue cleanup: ") + e.what();
  }
}

}  // namespace ipc
