#include "ipc/ballast.hpp"

#include <sys/mman.h>

#include <string>

#include "ipc/buffer.hpp"
#include "ipc/error.hpp"

namespace ipc {

Ballast::Ballast(std::size_t bytes) {
  if (bytes == 0) return;
  std::size_t size = (bytes + kPageSize - 1) / kPageSize * kPageSize;
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) throw_errno("mmap ballast of " + std::to_string(size) + " bytes");
  addr_ = addr;
  size_ = size;
  ::madvise(addr_, size_, MADV_NOHUGEPAGE);  // best effort: fails only without THP support
  auto* p = static_cast<volatile unsigned char*>(addr_);
  for (std::size_t off = 0; off < size_; off += kPageSize) p[off] = 1;
}

Ballast::~Ballast() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

}  // namespace ipc
