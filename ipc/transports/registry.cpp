#include "ipc/transports/registry.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include "ipc/transports/eventfd.hpp"
#include "ipc/transports/fifo.hpp"
#include "ipc/transports/iceoryx.hpp"
#include "ipc/transports/nng.hpp"
#include "ipc/transports/peer_boost_spsc.hpp"
#include "ipc/transports/pipe.hpp"
#include "ipc/transports/posix_mq.hpp"
#include "ipc/transports/queue.hpp"
#include "ipc/transports/shared_fd.hpp"
#include "ipc/transports/shm_boost.hpp"
#include "ipc/transports/shm_mpmc.hpp"
#include "ipc/transports/shm_ring.hpp"
#include "ipc/transports/sysv_mq.hpp"
#include "ipc/transports/tcp.hpp"
#include "ipc/transports/uds.hpp"
#include "ipc/transports/zmq.hpp"

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

template <IceoryxWait W>
Channel make_iox(const Options& options) {
  return make_iceoryx_channel(options, W);
}

template <IceoryxWait W>
std::unique_ptr<Listener> listen_iox(const Options& options) {
  return listen_iceoryx(options, W);
}

template <IceoryxWait W>
std::unique_ptr<Transport> connect_iox(const std::string& address, const Options& options) {
  return connect_iceoryx(address, options, W);
}

// THE table: one row per transport, in the order reports show them. A new transport is
// one file pair in this folder and one row here.
constexpr std::array kTransports = {
    TransportInfo{.name = "pipe",
                  .make = make_pipe_channel,
                  .cross_process = true,
                  .summary = "two anonymous pipes",
                  .listen = listen_pipe,
                  .connect = connect_pipe,
                  .startup = true},
    TransportInfo{.name = "fifo",
                  .make = make_fifo_channel,
                  .cross_process = true,
                  .summary = "two named pipes (mkfifo)",
                  .listen = listen_fifo,
                  .connect = connect_fifo,
                  .startup = true},
    TransportInfo{.name = "uds",
                  .make = make_uds_channel,
                  .cross_process = true,
                  .summary = "socketpair(AF_UNIX, SOCK_STREAM), length-prefixed",
                  .listen = listen_uds,
                  .connect = connect_uds,
                  .startup = true},
    TransportInfo{.name = "uds-seqpacket",
                  .make = make_uds_seqpacket_channel,
                  .cross_process = true,
                  .summary = "socketpair(AF_UNIX, SOCK_SEQPACKET)",
                  .listen = listen_uds_seqpacket,
                  .connect = connect_uds_seqpacket},
    TransportInfo{.name = "tcp",
                  .make = make_tcp_channel,
                  .cross_process = true,
                  .summary = "TCP over 127.0.0.1, TCP_NODELAY",
                  .listen = listen_tcp,
                  .connect = connect_tcp,
                  .startup = true},
    TransportInfo{.name = "shm-boost",
                  .make = make_shm_boost_channel,
                  .cross_process = true,
                  .summary = "two boost::interprocess::message_queue",
                  .listen = listen_shm_boost,
                  .connect = connect_shm_boost},
    TransportInfo{.name = "shm-ring",
                  .make = make_ring<WaitStrategy::kSpinThenFutex>,
                  .cross_process = true,
                  .summary = "our SPSC shared-memory ring: bounded spin, then futex",
                  .listen = listen_ring<WaitStrategy::kSpinThenFutex>,
                  .connect = connect_ring<WaitStrategy::kSpinThenFutex>,
                  .spins_first = true,
                  .startup = true},
    TransportInfo{.name = "shm-ring-spin",
                  .make = make_ring<WaitStrategy::kSpin>,
                  .cross_process = true,
                  .summary = "the same ring, busy-polling (yields now and then)",
                  .listen = listen_ring<WaitStrategy::kSpin>,
                  .connect = connect_ring<WaitStrategy::kSpin>,
                  .busy_polls = true},
    TransportInfo{.name = "shm-ring-futex",
                  .make = make_ring<WaitStrategy::kFutex>,
                  .cross_process = true,
                  .summary = "the same ring, sleeping in futex(2) at once",
                  .listen = listen_ring<WaitStrategy::kFutex>,
                  .connect = connect_ring<WaitStrategy::kFutex>},
    TransportInfo{.name = "peer-boost-spsc",
                  .make = make_peer_boost_spsc_channel,
                  .cross_process = true,
                  .summary = "peer: boost::lockfree::spsc_queue in shared memory, busy-polled",
                  .busy_polls = true},
    TransportInfo{.name = "posix-mq",
                  .make = make_posix_mq_channel,
                  .cross_process = true,
                  .summary = "two POSIX message queues (mq_open), one message each",
                  .listen = listen_posix_mq,
                  .connect = connect_posix_mq,
                  .startup = true,
                  .max_message = posix_mq_max_message,
                  .limits = posix_mq_limits},
    TransportInfo{.name = "sysv-mq",
                  .make = make_sysv_mq_channel,
                  .cross_process = true,
                  .summary = "two System V message queues (msgsnd/msgrcv), one message each",
                  .listen = listen_sysv_mq,
                  .connect = connect_sysv_mq,
                  .startup = true,
                  .max_message = sysv_mq_max_message,
                  .limits = sysv_mq_limits},
    TransportInfo{.name = "eventfd",
                  .make = make_eventfd_channel,
                  .cross_process = true,
                  .summary = "a shared-memory slot per direction, an eventfd per direction to wake",
                  .listen = listen_eventfd,
                  .connect = connect_eventfd,
                  .startup = true},
    TransportInfo{.name = "zmq-ipc",
                  .make = make_zmq_ipc_channel,
                  .cross_process = true,
                  .summary = "ZeroMQ PAIR sockets over ipc:// (a Unix socket)",
                  .listen = listen_zmq_ipc,
                  .connect = connect_zmq_ipc,
                  .startup = true,
                  .full_duplex = false},
    TransportInfo{.name = "zmq-tcp",
                  .make = make_zmq_tcp_channel,
                  .cross_process = true,
                  .summary = "ZeroMQ PAIR sockets over tcp://127.0.0.1",
                  .listen = listen_zmq_tcp,
                  .connect = connect_zmq_tcp,
                  .full_duplex = false},
    TransportInfo{.name = "zmq-inproc",
                  .make = make_zmq_inproc_channel,
                  .cross_process = false,
                  .summary = "ZeroMQ PAIR sockets over inproc:// (one context)",
                  .full_duplex = false},
    // nng is not fork-safe (see nng.hpp): threads and spawned peers only.
    TransportInfo{.name = "nng-ipc",
                  .make = make_nng_ipc_channel,
                  .cross_process = false,
                  .summary = "nng pair1 sockets over ipc:// (a Unix socket)",
                  .listen = listen_nng_ipc,
                  .connect = connect_nng_ipc,
                  .startup = true},
    TransportInfo{.name = "nng-tcp",
                  .make = make_nng_tcp_channel,
                  .cross_process = false,
                  .summary = "nng pair1 sockets over tcp://127.0.0.1",
                  .listen = listen_nng_tcp,
                  .connect = connect_nng_tcp},
    TransportInfo{.name = "nng-inproc",
                  .make = make_nng_inproc_channel,
                  .cross_process = false,
                  .summary = "nng pair1 sockets over inproc://"},
    TransportInfo{.name = "iceoryx-spin",
                  .make = make_iox<IceoryxWait::kSpin>,
                  .cross_process = true,
                  .summary = "iceoryx 2.0 pub/sub, loaned chunks (zero copy), busy-polling take()",
                  .listen = listen_iox<IceoryxWait::kSpin>,
                  .connect = connect_iox<IceoryxWait::kSpin>,
                  .busy_polls = true,
                  .max_message = iceoryx_max_message},
    TransportInfo{.name = "iceoryx-wait",
                  .make = make_iox<IceoryxWait::kWaitSet>,
                  .cross_process = true,
                  .summary = "iceoryx 2.0 pub/sub, loaned chunks (zero copy), blocking WaitSet",
                  .listen = listen_iox<IceoryxWait::kWaitSet>,
                  .connect = connect_iox<IceoryxWait::kWaitSet>,
                  .max_message = iceoryx_max_message},
    TransportInfo{.name = "queue",
                  .make = make_queue_channel,
                  .cross_process = false,
                  .summary = "in-process mutex + condition variable queue"},
};

// THE table of queues shared by many (the pool and fan-in scenarios): one row per kind.
// A kind named as a transport above is the same mechanism, shared.
constexpr std::array kSharedQueues = {
    SharedQueueInfo{.name = "queue",
                    .make = make_shared_mutex_queue,
                    .cross_process = false,
                    .summary = "one mutex + condition variable deque (Queue.Queue), threads only"},
    SharedQueueInfo{.name = "pipe",
                    .make = make_shared_pipe_queue,
                    .cross_process = true,
                    .summary = "a packet-mode pipe (O_DIRECT): atomic writes <= PIPE_BUF, one "
                               "packet per read",
                    .max_message = shared_pipe_max_message},
    SharedQueueInfo{.name = "uds-dgram",
                    .make = make_shared_dgram_queue,
                    .cross_process = true,
                    .summary = "socketpair(AF_UNIX, SOCK_DGRAM): one datagram per recv"},
    SharedQueueInfo{.name = "uds-seqpacket",
                    .make = make_shared_seqpacket_queue,
                    .cross_process = true,
                    .summary = "socketpair(AF_UNIX, SOCK_SEQPACKET): one record per recv"},
    SharedQueueInfo{.name = "shm-mpmc",
                    .make = make_shm_mpmc_queue,
                    .cross_process = true,
                    .summary = "our MPMC ring in shared memory (Vyukov slots), spin then futex"},
};

}  // namespace

std::span<const TransportInfo> transports() { return kTransports; }

std::span<const SharedQueueInfo> shared_queues() { return kSharedQueues; }

const TransportInfo& find_transport(std::string_view name) {
  std::string known;
  for (const TransportInfo& t : kTransports) {
    if (t.name == name) return t;
    known += (known.empty() ? "" : ", ") + std::string(t.name);
  }
  throw std::invalid_argument("unknown transport '" + std::string(name) + "' (known: " + known +
                              ")");
}

}  // namespace ipc
