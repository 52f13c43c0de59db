#include "ipc/transports/iceoryx.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "iceoryx_hoofs/log/logmanager.hpp"
#include "iceoryx_posh/mepoo/chunk_header.hpp"
#include "iceoryx_posh/popo/untyped_publisher.hpp"
#include "iceoryx_posh/popo/untyped_subscriber.hpp"
#include "iceoryx_posh/popo/wait_set.hpp"
#include "iceoryx_posh/runtime/posh_runtime.hpp"
#include "ipc/core/error.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/cleanup.hpp"
#include "ipc/os/names.hpp"
#include "ipc/os/shm_segment.hpp"
#include "ipc/os/unique_fd.hpp"
#include "ipc/transports/iceoryx_ports.hpp"
#include "ipc/transports/listener.hpp"

// iceoryx is not built with TSan: the hand-over of a chunk through its queues is invisible
// to it, so the chunk's bytes are handed over explicitly (publish/release: release; take/loan:
// acquire), which is exactly the ordering iceoryx's queues give.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define IPC_TSAN_ACQUIRE(p) __tsan_acquire(const_cast<void*>(static_cast<const void*>(p)))
#define IPC_TSAN_RELEASE(p) __tsan_release(const_cast<void*>(static_cast<const void*>(p)))
#else
#define IPC_TSAN_ACQUIRE(p) ((void)0)
#define IPC_TSAN_RELEASE(p) ((void)0)
#endif

namespace ipc {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------
// RouDi, owned by this run.

constexpr std::size_t kMaxMessage = std::size_t{1} << 20;
// The subscriber's queue: with BLOCK_PRODUCER a stream holds at most this many chunks per
// direction, plus one loaned by the sender and one held by the receiver.
constexpr std::uint64_t kQueueCapacity = 16;

// Chunk payload sizes (each a message size the suite measures, plus room for the chunk
// header and alignment) and how many; about 80 MB of /dev/shm in all.
struct Pool {
  std::size_t size;
  std::size_t count;
};
constexpr Pool kPools[] = {{320, 4096},  {1088, 1024}, {4160, 512},           {16448, 128},
                           {65600, 160}, {262208, 32}, {kMaxMessage + 64, 48}};

// What RouDi creates at names of its own (iceoryx 2.0's fixed ones) besides its shared
// memory, which it names on stdout ("Reserving N bytes in the shared memory [name]").
const char* const kRoudiPaths[] = {"/tmp/roudi", "/tmp/roudi.lock", "/tmp/iox-unique-roudi.lock"};
constexpr const char* kReadyLine = "RouDi is ready for clients";
// The machine-wide turn (an abstract socket: it leaves no file and ends with its holder).
constexpr char kTurnName[] = "ipcbench-iceoryx-roudi";
constexpr auto kTurnWait = 600s;
constexpr auto kReadyWait = 20s;

std::string config_text() {
  std::string s = "[general]\nversion = 1\n\n[[segment]]\n";
  for (const Pool& p : kPools)
    s += "\n[[segment.mempool]]\nsize = " + std::to_string(p.size) +
         "\ncount = " + std::to_string(p.count) + "\n";
  return s;
}

sockaddr_un turn_address(socklen_t& len) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, kTurnName, sizeof kTurnName - 1);
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + sizeof kTurnName - 1);
  return addr;
}

// The pid holding the turn, or -1.
pid_t turn_holder() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  socklen_t len;
  sockaddr_un addr = turn_address(len);
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0) return -1;
  ucred cred{};
  socklen_t n = sizeof cred;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &n) != 0) return -1;
  return cred.pid;
}

UniqueFd take_turn() {
  const auto deadline = Clock::now() + kTurnWait;
  bool said = false;
  for (;;) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    socklen_t len;
    sockaddr_un addr = turn_address(len);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) {
      if (::listen(fd.get(), 16) != 0) throw_errno("listen @" + std::string(kTurnName));
      return fd;
    }
    if (errno != EADDRINUSE) throw_errno("bind @" + std::string(kTurnName));
    if (Clock::now() > deadline)
      throw std::runtime_error(
          "iceoryx: another ipcbench run (pid " + std::to_string(turn_holder()) +
          ") kept iceoryx's one RouDi per machine for " + std::to_string(kTurnWait.count()) + " s");
    if (!said) {
      std::fprintf(stderr,
                   "ipcbench: iceoryx: waiting for ipcbench run %d to finish with its RouDi "
                   "(iceoryx 2.0 allows one per machine)\n",
                   static_cast<int>(turn_holder()));
      said = true;
    }
    std::this_thread::sleep_for(100ms);
  }
}

// A RouDi not started by us holds iceoryx's own lock: never share it, never stop it.
void refuse_foreign_roudi() {
  UniqueFd fd(::open("/tmp/iox-unique-roudi.lock", O_RDONLY | O_CLOEXEC));
  if (!fd) return;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd.get(), LOCK_UN);
    return;  // a dead RouDi's file: the new one takes it over
  }
  throw std::runtime_error(
      "iceoryx: an iox-roudi not started by ipcbench is running (it holds "
      "/tmp/iox-unique-roudi.lock); iceoryx 2.0 allows one per machine: stop it, or leave "
      "out the iceoryx transports (--transports)");
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string last_lines(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  std::size_t from = t.size() > 600 ? t.size() - 600 : 0;
  std::string out = t.substr(from);
  for (char& c : out)
    if (c == '\n') c = ' ';
  return out;
}

// A pipe, only to tell a thread to end.
struct Pipe {
  Pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int operator[](int i) const { return fds[i]; }
  int fds[2];
};

class Roudi {
 public:
  Roudi() {
    turn_ = take_turn();
    remove_stale_resources();  // a dead run's RouDi ("owned" records) goes first
    refuse_foreign_roudi();
    dir_ = std::make_unique<TempDir>();
    add_process_lifetime_name(dir_->path());
    const std::string config = dir_->entry("roudi.toml");
    const std::string log = dir_->entry("roudi.log");
    {  // 0600, as every object of ours
      UniqueFd out(::open(config.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out) throw_errno("open " + config);  // e.g. no descriptor left: EMFILE
      const std::string text = config_text();
      if (::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw_system_error(errno != 0 ? errno : EIO, "write " + config);
    }
    UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log_fd) throw_errno("open " + log);

    // Started from a thread that lives until the destructor: PR_SET_PDEATHSIG fires when the
    // forking *thread* ends, and the thread that first makes an iceoryx channel may be short
    // lived. On our death RouDi gets SIGTERM and removes its shared memory and sockets.
    std::promise<ChildProcess> started;
    auto child = started.get_future();
    launcher_ = std::thread([&started, &config, &log_fd, this] {
      try {
        const char* argv[] = {"iox-roudi", "-c", config.c_str(), "-l", "warning",
                              "-k",        "1",  nullptr};
        const int out = log_fd.get();
        started.set_value(ChildProcess::fork([&] {
          ::prctl(PR_SET_PDEATHSIG, SIGTERM);
          ::dup2(out, STDOUT_FILENO);
          ::dup2(out, STDERR_FILENO);
          ::execvp(argv[0], const_cast<char* const*>(argv));
          throw_errno("exec iox-roudi (Debian package iceoryx)");
        }));
      } catch (...) {
        started.set_exception(std::current_exception());
        return;
      }
      char byte;
      while (::read(stop_[0], &byte, 1) < 0 && errno == EINTR) {
      }
    });
    try {
      child_.emplace(child.get());
    } catch (...) {
      stop_launcher();
      throw;
    }
    record_owned_process(dir_->path(), child_->pid());
    add_process_lifetime_child(child_->pid());

    const auto deadline = Clock::now() + kReadyWait;
    std::string text;
    for (;;) {
      text = read_file(log);
      if (text.find(kReadyLine) != std::string::npos) break;
      std::optional<ExitStatus> status = child_->wait_for(5ms);
      if (status) {
        stop_launcher();
        throw std::runtime_error("iceoryx: iox-roudi " + status->describe() + ": " +
                                 last_lines(text));
      }
      if (Clock::now() > deadline) {
        stop();
        throw std::runtime_error("iceoryx: iox-roudi not ready within " +
                                 std::to_string(kReadyWait.count()) + " s: " + last_lines(text));
      }
    }
    std::istringstream lines(text);
    std::string line;
    const std::string marker = "in the shared memory [";
    while (std::getline(lines, line)) {
      std::size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      std::size_t from = at + marker.size(), to = line.find(']', from);
      if (to != std::string::npos) own("/dev/shm/" + line.substr(from, to - from));
    }
    for (const char* path : kRoudiPaths) own(path);
  }

  Roudi(const Roudi&) = delete;
  Roudi& operator=(const Roudi&) = delete;
  ~Roudi() { stop(); }

 private:
  void own(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) record_owned_path(dir_->path(), path);
  }

  void stop_launcher() noexcept {
    if (!launcher_.joinable()) return;
    [[maybe_unused]] ssize_t w = ::write(stop_[1], "x", 1);
    launcher_.join();
  }

  // SIGTERM: RouDi removes its shared memory and sockets; then whatever it left (recorded
  // in "owned") goes with our directory.
  void stop() noexcept {
    if (child_ && !child_->reaped()) {
      ::kill(child_->pid(), SIGTERM);
      if (!child_->wait_for(5000ms)) {
        std::fprintf(stderr, "ipcbench: iceoryx: iox-roudi ignored SIGTERM for 5 s; killing it\n");
        child_->kill();
        child_->wait_for(5000ms);
      }
    }
    stop_launcher();
    if (dir_) {
      CleanupResult r = release_owned(dir_->path());
      for (const std::string& e : r.errors)
        std::fprintf(stderr, "ipcbench: iceoryx: cannot remove %s\n", e.c_str());
    }
    dir_.reset();
    turn_.reset();
  }

 private:
  UniqueFd turn_;
  std::unique_ptr<TempDir> dir_;
  Pipe stop_;
  std::thread launcher_;
  std::optional<ChildProcess> child_;
};

void quiet_iceoryx_log() {
  iox::log::LogManager::GetLogManager().SetDefaultLogLevel(iox::log::LogLevel::kWarn,
                                                           iox::log::LogLevelOutput::kHideLogLevel);
}

// Registers this process with the running RouDi, once; its name carries our pid, so the
// socket iceoryx makes for it (/tmp/<name>) is reaped like our other names.
void init_runtime() {
  static std::once_flag once;
  std::call_once(once, [] {
    quiet_iceoryx_log();
    const std::string name = run_prefix() + "iox";
    for (const char* suffix : {"", ".lock"}) add_process_lifetime_name("/tmp/" + name + suffix);
    iox::runtime::PoshRuntime::initRuntime(
        iox::RuntimeName_t(iox::cxx::TruncateToCapacity, name.c_str()));
    // iceoryx makes its socket 0660; ours alone, as every name of ours (our own RouDi,
    // running as us, is the one that writes to it).
    for (const char* suffix : {"", ".lock"}) ::chmod(("/tmp/" + name + suffix).c_str(), 0600);
  });
}

std::mutex g_start_mutex;

// ---------------------------------------------------------------------------------------
// The transport.

// Shared by both ends, in memory both processes map (inherited across fork, or a named
// segment for a spawned peer): whether each end was shut down, whether the peer connected.
struct Control {
  std::atomic<std::uint32_t> closed[2];
  std::atomic<std::uint32_t> connected;
};

class AnonymousControl {
 public:
  AnonymousControl() {
    void* p =
        ::mmap(nullptr, sizeof(Control), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("mmap iceoryx control");
    control_ = new (p) Control{};
  }
  ~AnonymousControl() { ::munmap(control_, sizeof(Control)); }
  Control* get() const noexcept { return control_; }

 private:
  Control* control_;
};

iox::capro::ServiceDescription service(const std::string& instance, const char* event) {
  using iox::capro::IdString_t;
  return {IdString_t(iox::cxx::TruncateToCapacity, "ipcbench"),
          IdString_t(iox::cxx::TruncateToCapacity, instance.c_str()),
          IdString_t(iox::cxx::TruncateToCapacity, event)};
}

// One end's ports: it publishes on "<instance>/<from me>" and subscribes to the other.
struct Ports {
  std::unique_ptr<iox::popo::UntypedPublisher> pub;
  std::unique_ptr<iox::popo::UntypedSubscriber> sub;
  std::unique_ptr<iox::popo::WaitSet<>> waitset;

  Ports(const std::string& instance, int index, IceoryxWait wait) {
    static const char* const kEvents[] = {"a-to-b", "b-to-a"};
    iox::popo::PublisherOptions po;
    po.subscriberTooSlowPolicy = iox::popo::ConsumerTooSlowPolicy::WAIT_FOR_CONSUMER;
    iox::popo::SubscriberOptions so;
    so.queueCapacity = kQueueCapacity;
    so.queueFullPolicy = iox::popo::QueueFullPolicy::BLOCK_PRODUCER;
    pub = std::make_unique<iox::popo::UntypedPublisher>(service(instance, kEvents[index]), po);
    sub = std::make_unique<iox::popo::UntypedSubscriber>(service(instance, kEvents[1 - index]), so);
    if (wait == IceoryxWait::kWaitSet) {
      waitset = std::make_unique<iox::popo::WaitSet<>>();
      if (waitset->attachState(*sub, iox::popo::SubscriberState::HAS_DATA).has_error())
        throw std::runtime_error("iceoryx: cannot attach a subscriber to a WaitSet");
    }
  }

  bool connected() const {
    return pub->hasSubscribers() && sub->getSubscriptionState() == iox::SubscribeState::SUBSCRIBED;
  }

  // In a forked copy the ports are the creator's (RouDi knows them as its): a copy only
  // uses them, through the shared memory, and never tears them down.
  void abandon() noexcept {
    (void)waitset.release();
    (void)sub.release();
    (void)pub.release();
  }
};

// What the ends of one channel share in a process.
struct Shared {
  pid_t creator = ::getpid();
  std::shared_ptr<void> control_memory;
  Control* control = nullptr;
  std::optional<Ports> ports[2];  // the ends made in this process

  ~Shared() {
    if (::getpid() == creator) {
      for (auto& p : ports)
        if (p && p->waitset) p->waitset.reset();  // detach before the subscribers go
    } else {
      for (auto& p : ports)
        if (p) p->abandon();
    }
  }
};

constexpr std::uint32_t kSpinsPerYield = 256;

class IceoryxEnd final : public Transport {
 public:
  IceoryxEnd(std::shared_ptr<Shared> shared, int index, IceoryxWait wait, const Options& options)
      : shared_(std::move(shared)),
        ports_(*shared_->ports[index]),
        control_(*shared_->control),
        me_(index),
        wait_(wait),
        timeout_(options.timeout) {}

  ~IceoryxEnd() override {
    if (::getpid() == shared_->creator) release_held();
  }

  void send(std::span<const std::byte> message) override {
    check_open();
    if (message.size() > kMaxMessage)
      throw MessageError("iceoryx: a message of " + std::to_string(message.size()) +
                         " bytes exceeds the largest pool's limit of " +
                         std::to_string(kMaxMessage) + " bytes");
    const auto deadline = Clock::now() + timeout_;
    void* chunk = nullptr;
    for (std::uint32_t spins = 0;; ++spins) {
      auto loaned = ports_.pub->loan(static_cast<std::uint32_t>(message.size()));
      if (!loaned.has_error()) {
        chunk = loaned.value();
        break;
      }
      const auto error = loaned.get_error();
      if (error != iox::popo::AllocationError::RUNNING_OUT_OF_CHUNKS &&
          error != iox::popo::AllocationError::TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL)
        throw std::runtime_error("iceoryx: loan of " + std::to_string(message.size()) +
                                 " bytes failed: " + iox::popo::asStringLiteral(error));
      check_open();
      if (Clock::now() > deadline) throw TimeoutError("iceoryx: no free chunk (pool exhausted)");
      if (spins % kSpinsPerYield == 0) ::sched_yield();
    }
    IPC_TSAN_ACQUIRE(chunk);
    if (!message.empty()) std::memcpy(chunk, message.data(), message.size());
    IPC_TSAN_RELEASE(chunk);
    // Blocks while the peer's queue is full (WAIT_FOR_CONSUMER); shutdown() or the peer's
    // death unsubscribes that queue, which ends the wait.
    ports_.pub->publish(chunk);
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    std::span<const std::byte> view = recv_in_place(buffer);
    if (view.size() > buffer.size())
      throw MessageError("iceoryx: a message of " + std::to_string(view.size()) +
                         " bytes does not fit a " + std::to_string(buffer.size()) + "-byte buffer");
    if (!view.empty()) std::memcpy(buffer.data(), view.data(), view.size());
    release_held();
    return view.size();
  }

  std::span<const std::byte> recv_in_place(std::span<std::byte>) override {
    release_held();
    auto deadline = Clock::now() + timeout_;
    for (std::uint32_t spins = 1;; ++spins) {
      auto taken = ports_.sub->take();
      if (!taken.has_error()) {
        held_ = taken.value();
        IPC_TSAN_ACQUIRE(held_);
        const auto* header = iox::mepoo::ChunkHeader::fromUserPayload(held_);
        return {static_cast<const std::byte*>(held_), header->userPayloadSize()};
      }
      if (taken.get_error() != iox::popo::ChunkReceiveResult::NO_CHUNK_AVAILABLE)
        throw std::runtime_error(std::string("iceoryx: take failed: ") +
                                 iox::popo::asStringLiteral(taken.get_error()));
      if (control_.closed[me_].load(std::memory_order_acquire))
        throw ClosedError("iceoryx: this end was shut down");
      if (control_.closed[1 - me_].load(std::memory_order_acquire)) {
        // The peer's last messages were published before it closed: one more look.
        if (ports_.sub->hasData()) continue;
        throw ClosedError("iceoryx: the peer closed its end");
      }
      if (wait_ == IceoryxWait::kWaitSet) {
        const auto left = deadline - Clock::now();
        const auto slice = std::min<Clock::duration>(left, 20ms);  // closed flags, deadline
        if (slice > Clock::duration::zero())
          (void)ports_.waitset->timedWait(
              iox::units::Duration::fromNanoseconds(static_cast<unsigned long long>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(slice).count())));
      } else if (spins % kSpinsPerYield == 0) {
        ::sched_yield();
      }
      if ((wait_ == IceoryxWait::kWaitSet || spins % 1024 == 0) && Clock::now() > deadline)
        throw TimeoutError("iceoryx: no message within " + std::to_string(timeout_.count()) +
                           " ms");
    }
  }

  void shutdown() noexcept override {
    control_.closed[me_].store(1, std::memory_order_release);
    // A peer blocked publishing into our full queue must not wait for us any more.
    ports_.sub->unsubscribe();
  }

  IceoryxPorts ports() noexcept {
    return {*ports_.pub, *ports_.sub, ports_.waitset.get(), control_.closed[me_],
            control_.closed[1 - me_]};
  }

  void on_peer_exit() noexcept override {
    shutdown();
    // When the peer's ports live here (a forked peer uses our copies), end its subscription
    // ourselves: a publish of ours blocked on its full queue then returns.
    if (auto& peer = shared_->ports[1 - me_]) peer->sub->unsubscribe();
  }

 private:
  void check_open() const {
    if (control_.closed[me_].load(std::memory_order_acquire))
      throw ClosedError("iceoryx: this end was shut down");
    if (control_.closed[1 - me_].load(std::memory_order_acquire))
      throw ClosedError("iceoryx: the peer closed its end");
  }

  void release_held() noexcept {
    if (!held_) return;
    IPC_TSAN_RELEASE(held_);
    ports_.sub->release(held_);
    held_ = nullptr;
  }

  std::shared_ptr<Shared> shared_;
  Ports& ports_;
  Control& control_;
  const int me_;
  const IceoryxWait wait_;
  const std::chrono::milliseconds timeout_;
  const void* held_ = nullptr;
};

void wait_connected(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                    int abort_fd, const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  while (!ready()) {
    if (abort_fd >= 0) check_peer_alive(abort_fd, what);
    if (Clock::now() > deadline)
      throw TimeoutError(what + ": not connected through RouDi within " +
                         std::to_string(timeout.count()) + " ms");
    std::this_thread::sleep_for(1ms);
  }
}

std::string next_instance() {
  static std::atomic<unsigned> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

class IceoryxListener final : public Listener {
 public:
  IceoryxListener(const Options& options, IceoryxWait wait)
      : options_(options), wait_(wait), segment_(ShmSegment::create(unique_shm_name(), 4096)) {
    iceoryx_start();
    shared_ = std::make_shared<Shared>();
    shared_->control = new (segment_.data()) Control{};
    shared_->ports[0].emplace(instance(), 0, wait);
  }

  std::string address() const override { return segment_.name(); }

  std::unique_ptr<Transport> accept(std::chrono::milliseconds timeout, int abort_fd) override {
    const std::string what = "iceoryx " + segment_.name();
    wait_connected(
        [&] {
          return shared_->control->connected.load(std::memory_order_acquire) != 0 &&
                 shared_->ports[0]->connected();
        },
        timeout, abort_fd, what);
    segment_.unlink();
    auto memory = std::make_shared<ShmSegment>(std::move(segment_));
    shared_->control_memory = memory;
    return std::make_unique<IceoryxEnd>(shared_, 0, wait_, options_);
  }

 private:
  std::string instance() const { return segment_.name().substr(1); }

  Options options_;
  IceoryxWait wait_;
  ShmSegment segment_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

std::size_t iceoryx_max_message() { return kMaxMessage; }

IceoryxPorts iceoryx_ports(Transport& end) {
  auto* mine = dynamic_cast<IceoryxEnd*>(&end);
  if (!mine) throw std::invalid_argument("iceoryx_ports: not an end of an iceoryx channel");
  return mine->ports();
}

void iceoryx_start() {
  std::lock_guard lock(g_start_mutex);
  // Constructed before the runtime, so destroyed after it: the runtime says goodbye to
  // RouDi at exit, then RouDi stops (it would SIGTERM processes still registered).
  static Roudi roudi;
  init_runtime();
}

Channel make_iceoryx_channel(const Options& options, IceoryxWait wait) {
  iceoryx_start();
  auto shared = std::make_shared<Shared>();
  auto control = std::make_shared<AnonymousControl>();
  shared->control = control->get();
  shared->control_memory = control;
  const std::string instance = next_instance();
  shared->ports[0].emplace(instance, 0, wait);
  shared->ports[1].emplace(instance, 1, wait);
  wait_connected([&] { return shared->ports[0]->connected() && shared->ports[1]->connected(); },
                 options.timeout, -1, "iceoryx " + instance);
  return {std::make_unique<IceoryxEnd>(shared, 0, wait, options),
          std::make_unique<IceoryxEnd>(shared, 1, wait, options)};
}

std::unique_ptr<Listener> listen_iceoryx(const Options& options, IceoryxWait wait) {
  return std::make_unique<IceoryxListener>(options, wait);
}

std::unique_ptr<Transport> connect_iceoryx(const std::string& address, const Options& options,
                                           IceoryxWait wait) {
  // The spawned peer: RouDi is the parent's; this process only registers with it.
  init_runtime();
  auto segment = std::make_shared<ShmSegment>(ShmSegment::open(address));
  auto shared = std::make_shared<Shared>();
  shared->control = static_cast<Control*>(segment->data());
  shared->control_memory = segment;
  shared->ports[1].emplace(address.substr(1), 1, wait);
  wait_connected([&] { return shared->ports[1]->connected(); }, options.timeout, -1,
                 "iceoryx " + address);
  shared->control->connected.store(1, std::memory_order_release);
  return std::make_unique<IceoryxEnd>(shared, 1, wait, options);
}

}  // namespace ipc
