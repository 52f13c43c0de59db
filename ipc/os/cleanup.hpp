// Nothing left behind: removing what dead runs left, and ending an interrupted run cleanly.
// Every OS name ipcbench creates is "ipcbench-<pid>-<run id>-..." in /dev/shm or /tmp, with
// the run's owner record beside it (names.hpp); a name is removed only once that record
// proves the run ours and dead. Message queues are found through their markers in /tmp
// (queue_names.hpp).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/os/interrupt.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {

// Where our named objects live: POSIX shared memory, temporary files (and the markers of
// message queues, queue_names.hpp), and POSIX message queues where /dev/mqueue is mounted.
inline const std::vector<std::string> kResourceDirs = {"/dev/shm", "/tmp", "/dev/mqueue"};

struct CleanupResult {
  std::vector<std::string> removed;  // paths
  std::vector<std::string> errors;   // "<path>: <why>"
};

// Why a run's names may or may not be removed, from its owner record in `record_dir`.
enum class RunState {
  kDead,     // ours and provably gone: its names may be removed
  kAlive,    // its record is locked, or its process runs with the recorded start time
  kUnknown,  // no record, not ours (another user, a bad or unfinished record), another boot
};
// Judges the run; on kDead, `lock` (if given) receives the record's descriptor, holding the
// record's lock so that no second cleanup works on the same run meanwhile.
RunState judge_run(const RunKey& run, const std::string& record_dir = kRecordDir,
                   UniqueFd* lock = nullptr) noexcept;

// Removes every entry of `dirs` named "ipcbench-<pid>-<run id>-*" of a run that judge_run
// finds dead (an entry owned by another user is kept too), then the run's owner record:
// files, shared-memory objects, FIFOs, sockets, message queues (through their markers), and
// directories with what their manifest lists, never anything else (names.hpp). Runs that
// are alive, in any pid namespace, and names without a record are kept, so concurrent runs
// and a user's lookalike names are never disturbed. Never throws.
CleanupResult remove_stale_resources(const std::vector<std::string>& dirs = kResourceDirs,
                                     const std::string& record_dir = kRecordDir);

// Removes the entries of `dirs` of this process's own run (see above), e.g. on an interrupt,
// and its owner record. Never throws.
CleanupResult remove_own_resources(const std::vector<std::string>& dirs = kResourceDirs);

// Things a run owns that cannot carry its name: a daemon it started (an exec'd program names
// its own objects) and objects at names fixed by a library. They are recorded in the file
// "owned" inside one of the run's TempDirs, and whoever removes that
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
