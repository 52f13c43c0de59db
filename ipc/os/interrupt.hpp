// The interrupt's low level: a signal handler that hands SIGINT, SIGTERM and SIGHUP to a
// thread which runs what the installer asked for (cleanup.hpp's install_interrupt_handler
// removes our names and stops our children), and what a forked child or a new name must
// know of it. Depends on nothing of ipcbench's above the descriptors.
#pragma once

namespace ipc {

// Installs the handler in this process (once; a second call does nothing): on the first
// signal `finish(sig)` runs on a thread of its own and must end the process; a second
// signal during it exits at once with 128 + the first one. Throws std::system_error if
// the thread or its pipe cannot be made.
void start_interrupt_handler(void (*finish)(int sig));

// In a forked child of a process with the handler: the default actions again, at once
// (ChildProcess::fork calls it; the handler itself also passes signals of forked children
// on to the default action). Never throws.
void restore_default_signals() noexcept;

// True once an interrupt handled by install_interrupt_handler() has begun.
bool interrupted() noexcept;

// Blocks for good if an interrupt has begun (its thread then ends the process), so
// that the main thread cannot exit first; returns at once otherwise. Also run at exit.
void wait_if_interrupted() noexcept;

}  // namespace ipc
