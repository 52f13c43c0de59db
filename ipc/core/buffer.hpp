// AlignedBuffer: a page-aligned heap buffer. Message buffers are page-aligned because
// copies whose source and destination differ by 1-31 bytes modulo 4096 run ~20x slower
// on Zen 3 (see shared/MEASURING.md, "Traps").
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace ipc {

inline constexpr std::size_t kPageSize = 4096;

// memcpy that accepts the null data() of an empty span (memcpy itself must not get one).
inline void copy_bytes(void* dst, const void* src, std::size_t n) noexcept {
  if (n != 0) std::memcpy(dst, src, n);
}

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t size) : size_(size) {
    std::size_t rounded = (size + kPageSize - 1) / kPageSize * kPageSize;
    if (rounded == 0) rounded = kPageSize;
    void* p = std::aligned_alloc(kPageSize, rounded);
    if (p == nullptr) throw std::bad_alloc();
    data_.reset(static_cast<std::byte*>(p));
  }
  std::byte* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::span<std::byte> span() const noexcept { return {data_.get(), size_}; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::byte[], Free> data_;
  std::size_t size_ = 0;
};

}  // namespace ipc
