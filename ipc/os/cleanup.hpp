// Nothing left behind: removing what dead runs left, and ending an interrupted run cleanly.
// Every OS name ipcbench creates is "ipcbench-<pid>-..." in /dev/shm or /tmp (names.hpp),
// where <pid> is the process that removes it; an entry whose process is gone is stale.
// Message queues are found through their markers in /tmp (queue_names.hpp).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/os/interrupt.hpp"

namespace ipc {

// Where our named objects live: POSIX shared memory, temporary files (and the markers of
// message queues, queue_names.hpp), and POSIX message queues where /dev/mqueue is mounted.
inline const std::vector<std::string> kResourceDirs = {"/dev/shm", "/tmp", "/dev/mqueue"};

// The owner's pid of an entry named "ipcbench-<pid>-<rest>" (<rest> not empty), or nullopt.
std::optional<pid_t> resource_owner(std::string_view entry_name) noexcept;

// Does a process with this pid exist (even as a zombie, even if not ours to signal)?
bool process_alive(pid_t pid) noexcept;

struct CleanupResult {
  std::vector<std::string> removed;  // paths
  std::vector<std::string> errors;   // "<path>: <why>"
};

// Removes every entry of `dirs` named "ipcbench-<pid>-*" whose owner process is gone and
// which belongs to our user: files, shared-memory objects, FIFOs, sockets, and directories
// with what they hold (symbolic links are removed, never followed). Live owners' entries
// are kept, so a concurrent run is never disturbed. A pid reused by an unrelated process
// keeps its entries until that process ends. Owners are looked up in our pid namespace:
// do not share /dev/shm or /tmp with runs in another one. Never throws.
CleanupResult remove_stale_resources(const std::vector<std::string>& dirs = kResourceDirs);

// Removes the entries of `dirs` owned by `pid` (alive or not). Never throws.
CleanupResult remove_resources_of(pid_t pid, const std::vector<std::string>& dirs = kResourceDirs);

// Things a run owns that cannot carry its name: a daemon it started (an exec'd program names
// its own objects) and objects at names fixed by a library. They are recorded in the file
// "owned" inside one of the run's "ipcbench-<pid>-..." directories, and whoever removes that
// directory (the run itself, its interrupt handler, or a later run once the owner is dead)
// first kills the processes and removes the paths, but only what is provably still the
// thing recorded: a process whose start time (/proc/<pid>/stat) is unchanged, a path whose
// device and inode are unchanged. Throws std::system_error if the record cannot be written.
void record_owned_process(const std::string& dir, pid_t pid);
void record_owned_path(const std::string& dir, const std::string& path);
// Kills (SIGKILL) the recorded processes still alive, waits up to 2 s for them to go, then
// removes the recorded paths still the same. Errors go into the result. Never throws.
CleanupResult release_owned(const std::string& dir) noexcept;

// Ends this process cleanly on SIGINT, SIGTERM or SIGHUP: no new names are handed out
// (names.hpp throws), every ChildProcess is killed and reaped, the names of this process
// and of dead ones are removed, and the process exits with 128 + the signal number after
// one line on stderr. A second signal during that exits at once. Forked children do not
// inherit the behaviour: in them the signal does what it does by default. The work runs
// on a thread started here (a signal handler may do almost nothing), so call this before
// forking. Throws std::system_error if the thread or its pipe cannot be made.
void install_interrupt_handler();

// A file the interrupt also removes (e.g. a half-written result file). Call it before
// the run starts; not thread-safe against an interrupt already under way.
void remove_on_interrupt(std::string path);

}  // namespace ipc
