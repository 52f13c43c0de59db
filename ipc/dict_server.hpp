// The multiprocessing.Manager model of a shared dictionary: a server owns the Dict and
// answers lookups sent over Transports, one client per channel.
// Request: the key's bytes. Reply: [1][64-byte value] if found, [0] if not.
// An empty request ends the service of that channel.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "ipc/dict.hpp"
#include "ipc/transport.hpp"

namespace ipc {

inline constexpr std::size_t kMaxDictKey = 256;

// Serves every channel, the first in the calling thread and each other in a thread of
// its own (as Python's manager serves each connection in a thread), until each gets the
// empty request. The map is only read, so no lock is needed. If one channel fails, all
// are shut down (their clients see the end) and the first error is rethrown.
void serve_dict(const Dict& dict, std::span<Transport* const> channels);

class DictClient {
 public:
  explicit DictClient(Transport& channel) : channel_(channel) {}
  // The value of `key`, or nullopt if the server has none. Throws what the transport
  // throws (ClosedError when the server is gone, TimeoutError when it hangs).
  std::optional<DictValue> get(std::string_view key);
  // Tells the server this channel is done.
  void stop() { channel_.send({}); }

 private:
  Transport& channel_;
  std::byte reply_[1 + kDictValueBytes];
};

}  // namespace ipc
