#include "ipc/transports/pipe.hpp"

#include "ipc/transports/framing.hpp"
#include "ipc/transports/listener.hpp"

namespace ipc {

Channel make_pipe_channel(const Options&) {
  FdPair a_to_b = make_pipe();
  FdPair b_to_a = make_pipe();
  return {make_stream_transport(std::move(b_to_a.read), std::move(a_to_b.write), "pipe"),
          make_stream_transport(std::move(a_to_b.read), std::move(b_to_a.write), "pipe")};
}

std::unique_ptr<Listener> listen_pipe(const Options&) {
  FdPair a_to_b = make_pipe();
  FdPair b_to_a = make_pipe();
  std::vector<UniqueFd> theirs;
  theirs.push_back(std::move(a_to_b.read));
  theirs.push_back(std::move(b_to_a.write));
  return make_inherited_listener(
      make_stream_transport(std::move(b_to_a.read), std::move(a_to_b.write), "pipe"),
      std::move(theirs));
}

std::unique_ptr<Transport> connect_pipe(const std::string& address, const Options&) {
  std::vector<UniqueFd> fds = take_inherited_fds(address, 2, "pipe");
  return make_stream_transport(std::move(fds[0]), std::move(fds[1]), "pipe");
}

}  // namespace ipc
