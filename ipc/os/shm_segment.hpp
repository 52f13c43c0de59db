// ShmSegment: a POSIX shared-memory object (shm_open) and its MAP_SHARED mapping.
// Ownership: the segment unmaps in its destructor; only the process that created the
// name (owns_ and the same pid, so not a forked copy) unlinks it, there or in unlink().
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace ipc {

// For shared memory created by others' code (Boost.Interprocess), which sizes its objects
// with ftruncate: on a full /dev/shm that shows only as SIGBUS when a page is first
// touched, killing the process without a word and leaving the name behind.
//
// Throws std::system_error(ENOSPC) "<what>: /dev/shm has <n> bytes free, <bytes> needed"
// if the tmpfs at /dev/shm has less than `bytes` free (a size-less tmpfs is not checked):
// call it before creating an object of that size.
void require_shm_space(std::size_t bytes, const std::string& what);
// Allocates every page of the existing object `name` now (posix_fallocate), so that no
// later touch of it can SIGBUS; throws std::system_error (ENOSPC) if it cannot.
void reserve_shm(const std::string& name);

class ShmSegment {
 public:
  // Creates a new object (O_EXCL) of `size` bytes, allocating its memory now so that a
  // full /dev/shm fails here with ENOSPC instead of SIGBUS later.
  static ShmSegment create(const std::string& name, std::size_t size);
  // Maps an existing object, whole.
  static ShmSegment open(const std::string& name);

  ShmSegment(ShmSegment&& other) noexcept;
  ShmSegment& operator=(ShmSegment&&) = delete;
  ShmSegment(const ShmSegment&) = delete;
  ~ShmSegment();

  void* data() const noexcept { return addr_; }
  std::size_t size() const noexcept { return size_; }
  const std::string& name() const noexcept { return name_; }
  // Removes the name now; the mapping stays valid. Only the owner does anything.
  void unlink() noexcept;

 private:
  ShmSegment(std::string name, void* addr, std::size_t size, bool owns);

  std::string name_;
  void* addr_ = nullptr;
  std::size_t size_ = 0;
  bool owns_ = false;
  pid_t owner_pid_ = 0;
};

}  // namespace ipc
