// Kernel message queues (POSIX mq_open, System V msgget) of this run, and how a dead run's
// are found again. Neither kind is a file in /dev/shm or /tmp (POSIX queues show in
// /dev/mqueue only where that is mounted; System V queues have no file at all), so every
// queue is recorded by a marker: an empty file in /tmp created before the queue and
// removed after it, named like every other resource of ours (names.hpp), with the pid of
// the process that removes the queue:
//
//   /tmp/ipcbench-<pid>-<run id>-mq-<n>     the POSIX queue "/ipcbench-<pid>-<run id>-mq-<n>"
//   /tmp/ipcbench-<pid>-<run id>-msq-<key>  the System V queue with that key (8 hex digits)
//
// remove_stale_resources (cleanup.hpp) meets a dead run's marker and removes its queue
// first (remove_recorded_queue). What proves a queue ours: a POSIX name carries the dead
// run's prefix, as a /dev/shm name does, and its owner record says the run is ours and dead. A
// System V key is ours by construction and by record: it encodes the owner's pid (kSysvKeyTag in
// bits 28-31, the pid in bits 6-27, a counter in bits 0-5), it was created with IPC_EXCL after its
// marker was written, and a queue is removed only if it still has that key and was created by our
// user (msg_perm.cuid). A marker whose key does not encode its own pid is not ours to act on: it is
// only removed.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace ipc {

// The marker of one queue: creates the file, and removes it in the destructor (or in
// release()) in the process that created it, never in a forked copy.
class QueueMarker {
 public:
  QueueMarker() = default;
  // Creates `path` (O_EXCL); throws std::system_error if it exists or cannot be made.
  explicit QueueMarker(std::string path);
  QueueMarker(QueueMarker&& other) noexcept;
  QueueMarker& operator=(QueueMarker&& other) noexcept;
  QueueMarker(const QueueMarker&) = delete;
  QueueMarker& operator=(const QueueMarker&) = delete;
  ~QueueMarker() { release(); }

  // The queue is gone: the marker goes too. Never throws.
  void release() noexcept;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
  pid_t owner_pid_ = 0;
};

// A new POSIX queue name "/ipcbench-<pid>-<run id>-mq-<n>", recorded by a marker made here.
struct RecordedMqName {
  std::string name;
  QueueMarker marker;
};
RecordedMqName record_mq_name();

// A new System V message queue (msgget(key, IPC_CREAT | IPC_EXCL | 0600)) under a key of
// ours (see above), recorded by a marker made before it.
inline constexpr unsigned kSysvKeyTag = 0x5;
struct RecordedSysvQueue {
  int id = -1;
  key_t key = 0;
  QueueMarker marker;
};
RecordedSysvQueue create_sysv_queue();

// Removes the System V queue `id` if it still has `key` (an id the kernel reused for
// someone else's queue is left alone). Returns false if it was already gone.
bool remove_sysv_queue(int id, key_t key) noexcept;

// The owner pid a System V key of ours encodes, or 0 if the key is not of our form.
pid_t sysv_key_owner(key_t key) noexcept;

// A number from a /proc/sys file (e.g. "/proc/sys/fs/mqueue/msgsize_max"); throws
// std::runtime_error naming the file if it cannot be read.
std::size_t read_kernel_limit(const char* path);

// For cleanup: if `entry_name` (a file name in /tmp) is a queue marker, removes its queue
// and returns "" (also when the queue was already gone) or why it could not; "" for any
// other name.
std::string remove_recorded_queue(std::string_view entry_name) noexcept;

}  // namespace ipc
