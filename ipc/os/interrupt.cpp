#include "ipc/os/interrupt.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "ipc/core/error.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {
namespace {

// The interrupt: the handler writes the signal number to a pipe, a thread does the work.
std::atomic<pid_t> g_owner{0};
std::atomic<int> g_signal{0};
std::atomic<int> g_pipe_write{-1};
std::atomic<void (*)(int)> g_finish{nullptr};  // start_interrupt_handler()

void on_signal(int sig) {
  const int saved = errno;
  if (::getpid() != g_owner.load()) {
    // A forked child: behave as if no handler had been installed.
    ::signal(sig, SIG_DFL);
    ::raise(sig);  // delivered when this handler returns
    errno = saved;
    return;
  }
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) ::_exit(128 + expected);
  unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t w = ::write(g_pipe_write.load(), &byte, 1);
  errno = saved;
}

}  // namespace

void start_interrupt_handler(void (*finish)(int sig)) {
  if (g_owner.load() == ::getpid()) return;  // already installed in this process
  FdPair pipe = make_pipe();
  int read_fd = pipe.read.get();
  std::thread([read_fd] {
    unsigned char sig = 0;
    while (::read(read_fd, &sig, 1) != 1) {
      if (errno != EINTR) return;  // cannot happen while the write end is open
    }
    g_finish.load()(sig);
  }).detach();
  // Both ends stay open for the life of the process; the thread never returns otherwise.
  pipe.read.release();
  g_pipe_write.store(pipe.write.release());
  g_finish.store(finish);
  g_signal.store(0);
  g_owner.store(::getpid());

  // A main thread that finishes while the interrupt is under way (every later
  // benchmark fails at once) must not exit before the interrupt thread does: it waits.
  static const bool registered = std::atexit(wait_if_interrupted) == 0;
  (void)registered;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP})
    if (::sigaction(sig, &sa, nullptr) != 0) throw_errno("sigaction");
}

void restore_default_signals() noexcept {
  if (g_owner.load() == 0 || g_owner.load() == ::getpid()) return;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
}

void wait_if_interrupted() noexcept {
  if (!interrupted()) return;
  for (;;) ::pause();  // the interrupt thread ends the process
}

bool interrupted() noexcept { return g_signal.load() != 0 && g_owner.load() == ::getpid(); }

}  // namespace ipc
