#include "ipc/transport.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include "ipc/fifo_transport.hpp"
#include "ipc/pipe_transport.hpp"
#include "ipc/queue_transport.hpp"
#include "ipc/shm_boost_transport.hpp"
#include "ipc/shm_ring_transport.hpp"
#include "ipc/tcp_transport.hpp"
#include "ipc/uds_transport.hpp"

namespace ipc {
namespace {

template <WaitStrategy W>
Channel make_ring(const Options& options) {
  return make_shm_ring_channel(options, W);
}

template <WaitStrategy W>
std::unique_ptr<Listener> listen_ring(const Options& options) {
  return listen_shm_ring(options, W);
}

template <WaitStrategy W>
std::unique_ptr<Transport> connect_ring(const std::string& address, const Options& options) {
  return connect_shm_ring(address, options, W);
}

constexpr std::array kTransports = {
    TransportInfo{"pipe", make_pipe_channel, true, "two anonymous pipes", listen_pipe,
                  connect_pipe},
    TransportInfo{"fifo", make_fifo_channel, true, "two named pipes (mkfifo)", listen_fifo,
                  connect_fifo},
    TransportInfo{"uds", make_uds_channel, true,
                  "socketpair(AF_UNIX, SOCK_STREAM), length-prefixed", listen_uds, connect_uds},
    TransportInfo{"uds-seqpacket", make_uds_seqpacket_channel, true,
                  "socketpair(AF_UNIX, SOCK_SEQPACKET)", listen_uds_seqpacket,
                  connect_uds_seqpacket},
    TransportInfo{"tcp", make_tcp_channel, true, "TCP over 127.0.0.1, TCP_NODELAY", listen_tcp,
                  connect_tcp},
    TransportInfo{"shm-boost", make_shm_boost_channel, true,
                  "two boost::interprocess::message_queue", listen_shm_boost,
                  connect_shm_boost},
    TransportInfo{"shm-ring", make_ring<WaitStrategy::kSpinThenFutex>, true,
                  "our SPSC shared-memory ring: bounded spin, then futex",
                  listen_ring<WaitStrategy::kSpinThenFutex>,
                  connect_ring<WaitStrategy::kSpinThenFutex>},
    TransportInfo{"queue", make_queue_channel, false,
                  "in-process mutex + condition variable queue"},
};

}  // namespace

std::span<const TransportInfo> transports() { return kTransports; }

const TransportInfo& find_transport(std::string_view name) {
  std::string known;
  for (const TransportInfo& t : kTransports) {
    if (t.name == name) return t;
    known += (known.empty() ? "" : ", ") + std::string(t.name);
  }
  throw std::invalid_argument("unknown transport '" + std::string(name) + "' (known: " +
                              known + ")");
}

}  // namespace ipc
