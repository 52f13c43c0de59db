// ShmDict: a string-keyed map of DictValues in a Boost.Interprocess managed_shared_memory
// segment (boost::unordered_map with shared-memory allocators), guarded by an
// interprocess_sharable_mutex: many readers at once, threads or processes.
// Ownership: the process that created the segment removes its name in unlink() or its
// destructor (a forked copy never does); every copy unmaps. A forked child may use the
// inherited mapping, so the name can go as soon as the dictionary is filled.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ipc/dict.hpp"

namespace ipc {

class ShmDict {
 public:
  // Creates segment `name` (which must not exist), sized for `capacity` entries.
  static ShmDict create(const std::string& name, std::size_t capacity);
  // Maps an existing segment made by create().
  static ShmDict open(const std::string& name);

  ShmDict(ShmDict&&) noexcept;
  ShmDict& operator=(ShmDict&&) = delete;
  ~ShmDict();

  // Inserts or replaces, under the exclusive lock.
  void insert(std::string_view key, const DictValue& value);
  // Copies the value of `key` into `out` under the shared lock; false if absent.
  bool lookup(std::string_view key, DictValue& out) const;
  std::size_t size() const;
  const std::string& name() const noexcept;
  // Removes the name now (owner only); mappings stay valid. Never throws.
  void unlink() noexcept;

 private:
  struct Impl;
  explicit ShmDict(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ipc
