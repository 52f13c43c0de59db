#include "ipc/dict_server.hpp"

#include <cstring>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ipc/error.hpp"

namespace ipc {
namespace {

void serve_one(const Dict& dict, Transport& t) {
  std::byte request[kMaxDictKey];
  std::byte reply[1 + kDictValueBytes];
  for (;;) {
    std::size_t n = t.recv(request);
    if (n == 0) return;
    auto it = dict.find(std::string_view(reinterpret_cast<const char*>(request), n));
    if (it == dict.end()) {
      reply[0] = std::byte{0};
      t.send(std::span(reply, 1));
    } else {
      reply[0] = std::byte{1};
      std::memcpy(reply + 1, it->second.data(), kDictValueBytes);
      t.send(reply);
    }
  }
}

}  // namespace

void serve_dict(const Dict& dict, std::span<Transport* const> channels) {
  std::mutex mu;
  std::exception_ptr first;
  auto serve = [&](Transport* t) {
    try {
      serve_one(dict, *t);
    } catch (...) {
      {
        std::lock_guard lock(mu);
        if (!first) first = std::current_exception();
      }
      for (Transport* c : channels) c->shutdown();
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < channels.size(); ++i) threads.emplace_back(serve, channels[i]);
  if (!channels.empty()) serve(channels[0]);
  for (std::thread& th : threads) th.join();
  if (first) std::rethrow_exception(first);
}

std::optional<DictValue> DictClient::get(std::string_view key) {
  if (key.size() > kMaxDictKey || key.empty())
    throw std::invalid_argument("dict key of " + std::to_string(key.size()) +
                                " bytes (1 to " + std::to_string(kMaxDictKey) + " allowed)");
  channel_.send(std::as_bytes(std::span(key.data(), key.size())));
  std::size_t n = channel_.recv(reply_);
  if (n == 1 && reply_[0] == std::byte{0}) return std::nullopt;
  if (n != sizeof reply_ || reply_[0] != std::byte{1})
    throw MessageError("dict server: malformed reply of " + std::to_string(n) + " bytes to " +
                       std::string(key));
  DictValue v;
  std::memcpy(v.data(), reply_ + 1, kDictValueBytes);
  return v;
}

}  // namespace ipc
