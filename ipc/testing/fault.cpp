#include "ipc/testing/fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"

namespace ipc {
namespace {

constexpr std::array<std::pair<FaultKind, std::string_view>, 10> kNames = {{
    {FaultKind::kKill, "kill"},
    {FaultKind::kHang, "hang"},
    {FaultKind::kStall, "stall"},
    {FaultKind::kExit, "exit"},
    {FaultKind::kThrow, "throw"},
    {FaultKind::kDrop, "drop"},
    {FaultKind::kDuplicate, "duplicate"},
    {FaultKind::kReorder, "reorder"},
    {FaultKind::kBitFlip, "bitflip"},
    {FaultKind::kTruncate, "truncate"},
}};

constexpr auto kStallFor = std::chrono::milliseconds(300);
// Peer ends of this process stalling now: one stalls at a time (the others strike later),
// so the others run on meanwhile, as when one thread of a pool is preempted.
std::atomic<int> g_stalling{0};

bool changes_bytes(FaultKind kind) noexcept {
  return kind == FaultKind::kBitFlip || kind == FaultKind::kTruncate;
}

// A byte in the body of a verified message (message.hpp), else the last one.
std::size_t flip_offset(std::size_t size) noexcept {
  return size > kHeaderBytes + 8 ? kHeaderBytes + (size - kHeaderBytes - 8) / 2 : size - 1;
}

class FaultyTransport final : public Transport {
 public:
  FaultyTransport(std::unique_ptr<Transport> inner, Fault fault, bool in_process)
      : inner_(std::move(inner)), fault_(fault), in_process_(in_process) {}

  void send(std::span<const std::byte> message) override {
    if (strikes(message.size())) {
      switch (fault_.kind) {
        case FaultKind::kDrop:
          return;
        case FaultKind::kDuplicate:
          inner_->send(message);
          break;
        case FaultKind::kReorder:  // goes after the next message
          held_.assign(message.begin(), message.end());
          send_held_ = true;
          return;
        case FaultKind::kBitFlip: {
          std::vector<std::byte> bad(message.begin(), message.end());
          bad[flip_offset(bad.size())] ^= std::byte{0x04};
          inner_->send(bad);
          return;
        }
        case FaultKind::kTruncate:
          inner_->send(message.first(message.size() - 1));
          return;
        default:
          act();
      }
    }
    inner_->send(message);
    if (std::exchange(send_held_, false)) inner_->send(held_);
  }

  std::size_t recv(std::span<std::byte> buffer) override {
    if (std::exchange(recv_held_, false)) {  // a duplicate, or the overtaken message
      if (held_.size() > buffer.size()) throw MessageError("faulty: held message does not fit");
      std::memcpy(buffer.data(), held_.data(), held_.size());
      return held_.size();
    }
    std::size_t n = inner_->recv(buffer);
    if (strikes(n)) {
      switch (fault_.kind) {
        case FaultKind::kDrop:
          return recv(buffer);
        case FaultKind::kDuplicate:
          held_.assign(buffer.begin(), buffer.begin() + n);
          recv_held_ = true;
          return n;
        case FaultKind::kReorder: {
          held_.assign(buffer.begin(), buffer.begin() + n);
          std::size_t next = inner_->recv(buffer);
          ++count_;
          recv_held_ = true;
          return next;
        }
        case FaultKind::kBitFlip:
          buffer[flip_offset(n)] ^= std::byte{0x04};
          return n;
        case FaultKind::kTruncate:
          return n - 1;
        default:
          act();
      }
    }
    return n;
  }

  void shutdown() noexcept override {
    shut_.store(true);
    inner_->shutdown();
  }
  void on_peer_exit() noexcept override { inner_->on_peer_exit(); }

 private:
  // Counts the message; true if the fault strikes it.
  bool strikes(std::size_t size) noexcept {
    std::uint64_t index = count_++;
    if (struck_ || index < fault_.at) return false;
    if (changes_bytes(fault_.kind) && size == 0) return false;
    if (fault_.kind == FaultKind::kStall && g_stalling.load() > 0) return false;
    struck_ = true;
    return true;
  }

  // The peer's own faults.
  void act() {
    const std::string where = " at message " + std::to_string(count_ - 1);
    switch (fault_.kind) {
      case FaultKind::kKill:
        if (in_process_) ::raise(SIGKILL);
        throw std::runtime_error("injected fault: kill" + where + " (a thread peer throws)");
      case FaultKind::kExit:
        if (in_process_) ::_exit(3);
        throw std::runtime_error("injected fault: exit" + where + " (a thread peer throws)");
      case FaultKind::kHang:
        if (in_process_)
          for (;;) ::pause();  // until the watchdog kills us
        while (!shut_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        throw ClosedError("injected fault: hang" + where + ", then shut down");
      case FaultKind::kStall: {  // a preempted peer: late, then on as if nothing happened
        ++g_stalling;
        const auto until = std::chrono::steady_clock::now() + kStallFor;
        while (!shut_.load() && std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        --g_stalling;
        return;
      }
      default:
        throw std::runtime_error("injected fault: throw" + where);
    }
  }

  std::unique_ptr<Transport> inner_;
  Fault fault_;
  bool in_process_;
  std::uint64_t count_ = 0;
  bool struck_ = false;
  bool send_held_ = false;  // held_ goes out after the next message sent
  bool recv_held_ = false;  // held_ is what the next recv returns
  std::vector<std::byte> held_;
  std::atomic<bool> shut_{false};
};

struct Armed {
  Fault fault;
  std::string filter;
};
Armed g_armed;  // set once, before any benchmark runs

}  // namespace

std::string_view fault_name(FaultKind kind) noexcept {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "none";
}

Fault parse_fault(std::string_view spec) {
  std::string_view kind = spec.substr(0, spec.find(':'));
  Fault fault;
  for (const auto& [k, name] : kNames)
    if (name == kind) fault.kind = k;
  if (!fault) {
    std::string known;
    for (const auto& [k, name] : kNames) known += (known.empty() ? "" : ", ") + std::string(name);
    throw std::invalid_argument("unknown fault '" + std::string(kind) + "' (known: " + known + ")");
  }
  if (kind.size() < spec.size()) {
    std::string_view n = spec.substr(kind.size() + 1);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), fault.at);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size())
      throw std::invalid_argument("fault '" + std::string(spec) +
                                  "': the message number must be a whole number");
  }
  return fault;
}

std::unique_ptr<Transport> make_faulty_transport(std::unique_ptr<Transport> inner, Fault fault,
                                                 bool in_process) {
  return std::make_unique<FaultyTransport>(std::move(inner), fault, in_process);
}

EndWrapper fault_wrapper(Fault fault) {
  return [fault](std::unique_ptr<Transport> end, bool in_process) {
    return make_faulty_transport(std::move(end), fault, in_process);
  };
}

namespace {

std::unique_ptr<Transport> armed_hook(std::unique_ptr<Transport> end, std::string_view label,
                                      bool in_process) {
  Fault fault = armed_test_fault(label);
  return fault ? make_faulty_transport(std::move(end), fault, in_process) : std::move(end);
}

}  // namespace

void arm_test_fault(Fault fault, std::string filter) {
  g_armed = {fault, std::move(filter)};
  set_peer_end_hook(fault ? armed_hook : nullptr);
}

Fault armed_test_fault(std::string_view label) {
  if (!g_armed.fault) return {};
  if (!g_armed.filter.empty() && label.find(g_armed.filter) == std::string_view::npos) return {};
  return g_armed.fault;
}

std::string arm_test_fault_from_env() {
  const char* spec = std::getenv("IPCBENCH_FAULT");
  if (spec == nullptr || *spec == '\0') return "";
  const char* filter = std::getenv("IPCBENCH_FAULT_FILTER");
  arm_test_fault(parse_fault(spec), filter != nullptr ? filter : "");
  return spec;
}

}  // namespace ipc
