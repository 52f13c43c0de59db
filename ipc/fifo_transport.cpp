#include "ipc/fifo_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "ipc/error.hpp"
#include "ipc/framing.hpp"
#include "ipc/names.hpp"

namespace ipc {
namespace {

// Opens both ends of the FIFO at `path` in this process: the read end
// non-blocking first (an open for writing blocks until a reader exists), then
// the write end, then the read end is made blocking again.
FdPair open_fifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) throw_errno("mkfifo " + path);
  UniqueFd rd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!rd) throw_errno("open " + path);
  UniqueFd wr(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!wr) throw_errno("open " + path);
  if (::fcntl(rd.get(), F_SETFL, 0) != 0) throw_errno("fcntl " + path);
  return {std::move(rd), std::move(wr)};
}

}  // namespace

Channel make_fifo_channel(const Options&) {
  // Both FIFOs are opened by name, then the names go at once with the directory,
  // so a crash cannot leave them behind; the open descriptors stay valid.
  TempDir dir;
  FdPair a_to_b = open_fifo(dir.path() + "/a_to_b");
  FdPair b_to_a = open_fifo(dir.path() + "/b_to_a");
  return {make_stream_transport(std::move(b_to_a.read), std::move(a_to_b.write), "fifo"),
          make_stream_transport(std::move(a_to_b.read), std::move(b_to_a.write), "fifo")};
}

}  // namespace ipc
