// Ballast: memory this process holds and has touched, so that the cost of forking a large
// process can be measured. Owns an anonymous private mapping; the destructor unmaps it.
#pragma once

#include <cstddef>

namespace ipc {

class Ballast {
 public:
  // Maps `bytes` (rounded up to pages) and writes every page. Transparent huge pages are
  // turned off for it (MADV_NOHUGEPAGE): one page-table entry per 4 KiB page, as a heap
  // of small objects (a Python process) has.
  explicit Ballast(std::size_t bytes);
  Ballast(const Ballast&) = delete;
  Ballast& operator=(const Ballast&) = delete;
  ~Ballast();
  std::size_t size() const noexcept { return size_; }

 private:
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace ipc
