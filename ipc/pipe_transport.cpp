#include "ipc/pipe_transport.hpp"

#include "ipc/framing.hpp"

namespace ipc {

Channel make_pipe_channel(const Options&) {
  FdPair a_to_b = make_pipe();
  FdPair b_to_a = make_pipe();
  return {make_stream_transport(std::move(b_to_a.read), std::move(a_to_b.write), "pipe"),
          make_stream_transport(std::move(a_to_b.read), std::move(b_to_a.write), "pipe")};
}

}  // namespace ipc
