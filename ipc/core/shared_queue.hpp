// A message queue shared by many: any number of threads or forked processes put messages
// on it and take them off, each message taken by exactly one taker, whole. The worker-pool
// and fan-in scenarios (bench/pool.cpp, bench/fanin.cpp) are built on it; which kinds
// exist is the second table in ipc/transports/registry.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

#include "ipc/core/transport.hpp"

namespace ipc {

// Created before any fork; a forked process uses its inherited copy of the object (the
// kinds that cross processes keep their state in shared memory or the kernel).
// Messages are 1 to max_message() bytes (an empty message cannot be told apart from none
// by every kind: packet pipes drop them).
class SharedQueue {
 public:
  virtual ~SharedQueue() = default;
  // Blocks while the queue is full; TimeoutError after Options::timeout without room,
  // ClosedError once closed.
  virtual void put(std::span<const std::byte> message) = 0;
  // Takes one whole message into `buffer`, returns its size; MessageError if it does not
  // fit. Blocks while empty: TimeoutError, ClosedError as put.
  virtual std::size_t get(std::span<std::byte> buffer) = 0;
  // Closes the queue for every thread and process that shares it: their blocked and
  // future calls throw ClosedError promptly. Callable from any thread; never throws.
  virtual void close() noexcept = 0;
};

struct SharedQueueInfo {
  std::string_view name;
  // A new queue for messages of up to `max_message` bytes (the caller's largest), at most
  // Options::buffer_bytes of them queued. Throws std::invalid_argument if `max_message`
  // is more than the kind can carry whole.
  std::unique_ptr<SharedQueue> (*make)(const Options& options, std::size_t max_message);
  // Usable by forked processes (else by threads of one process only).
  bool cross_process;
  // What it is and how many takers share it, for --list and the README table.
  std::string_view summary;
  // The largest message it carries whole (read from the system when asked); null: none.
  std::size_t (*max_message)() = nullptr;
};

}  // namespace ipc
