// Names of OS objects (shared-memory segments, temporary directories, queues, sockets) that
// are unique per run and provably ours: each carries the creating process's pid and a random
// run id ("ipcbench-<pid>-<16 hex digits>-<n>"), and the run leaves an owner record beside
// them, /tmp/ipcbench-<pid>-<run id>.owner (mode 0600), which it holds locked (flock) as long
// as it or a forked child of it lives. cleanup.hpp removes a run's names only once that
// record proves the run is ours and dead; a name without a record is never touched.
//
// The rule every scenario follows: a named object lives in /dev/shm or /tmp and is named
// with run_prefix() (use these helpers; socket files and FIFOs go inside a TempDir, through
// TempDir::entry), in a process that outlives every use of the name (the name is removed as
// soon as that process is gone). Every helper throws once the run is being interrupted.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipc {

// "ipcbench-<pid>-<run id>-": the start of every name this process makes. The first call in
// a process (a forked child is a new one) draws the run id and writes the owner record.
// Throws std::system_error if the record cannot be written.
std::string run_prefix();

// "/ipcbench-<pid>-<run id>-<n>", for shm_open, Boost.Interprocess and abstract sockets.
std::string unique_shm_name();

// A run as its names show it.
struct RunKey {
  pid_t pid = 0;
  std::string id;  // 16 lowercase hex digits
  bool operator==(const RunKey&) const = default;
};

// The run of an entry named "ipcbench-<pid>-<16 hex>-<rest>" (<rest> not empty), or nullopt
// for any other name (a user's "ipcbench-2024-notes", an old "ipcbench-<pid>-<n>").
std::optional<RunKey> parse_run_name(std::string_view entry_name) noexcept;
// The run of an owner record's file name "ipcbench-<pid>-<16 hex>.owner", or nullopt.
std::optional<RunKey> parse_record_name(std::string_view entry_name) noexcept;
// "<dir>/ipcbench-<pid>-<id>.owner".
std::string record_path(const std::string& dir, const RunKey& run);
// Where the owner records live.
inline constexpr const char* kRecordDir = "/tmp";

// This process's run, if it has made a name yet.
std::optional<RunKey> own_run() noexcept;

// What an owner record says: the first line of the file, written once.
struct OwnerRecord {
  uid_t uid = 0;
  pid_t pid = 0;
  unsigned long long start = 0;  // field 22 of /proc/<pid>/stat: clock ticks since boot
  std::string boot_id;           // /proc/sys/kernel/random/boot_id
  std::string pid_ns;            // readlink /proc/self/ns/pid: "pid:[4026531836]"
};
std::optional<OwnerRecord> parse_owner_record(std::string_view text) noexcept;
// This process as a record would describe it.
OwnerRecord describe_self();
// The start time of `pid` (field 22 of /proc/<pid>/stat), or 0 if there is no such process;
// `zombie` is set for one that has exited but is not reaped yet.
unsigned long long process_start_time(pid_t pid, bool* zombie = nullptr) noexcept;

// Removes this process's owner record (at exit, from a forked child before _exit, or once an
// interrupt removed its names). Never throws.
void release_run_record() noexcept;

// A private directory /tmp/ipcbench-<pid>-<run id>-XXXXXX (mode 0700) with a manifest of
// what is made in it. The creating process removes it in the destructor (a forked copy does
// not): the entries in the manifest, then the manifest and the directory.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const noexcept { return path_; }
  // The path of an entry about to be made in the directory (a socket, a FIFO, a file),
  // recorded in the manifest first, so that whoever removes a dead run's directory removes
  // exactly what we made. `name` is a plain file name. Throws std::system_error.
  std::string entry(std::string_view name);

 private:
  std::string path_;
  int owner_pid_;
  std::vector<std::string> entries_;  // the manifest, kept here too: removal needs no descriptor
};

// The manifest of a TempDir (a file in it), and recording one more name in it; used by
// TempDir::entry and by cleanup.hpp's "owned" record. Throws std::system_error.
inline constexpr const char* kManifestName = ".manifest";
void add_to_manifest(const std::string& dir, std::string_view name);
// Removes what the manifest of `dir` lists (never a directory, never another user's entry),
// the manifest, and the directory if that left it empty. Returns "" or why not. Never throws.
// `listed`: names the caller knows are in the manifest (if the file cannot be read).
std::string remove_manifest_dir(const std::string& dir,
                                const std::vector<std::string>* listed = nullptr) noexcept;

// Names that live as long as the process that made them (e.g. the iceoryx runtime's socket,
// the directory of this run's RouDi, the owner record): removed at its exit (or by the next
// run after a crash), not when the code that made them returns. A test's leak check skips
// them.
void add_process_lifetime_name(std::string path);
std::vector<std::string> process_lifetime_names();
// The same for a child process (this run's RouDi): stopped and reaped at exit.
void add_process_lifetime_child(pid_t pid);
std::vector<pid_t> process_lifetime_children();

}  // namespace ipc
