// Verified messages: every benchmark message carries a sequence number and a checksum so
// that the receiver proves each one arrived, in order and intact.
//
// Layout (size >= 16): [seq u64][size u32][checksum u32][body ...][seq u64 trailer if size >= 24]
// The checksum covers the body between header and trailer, combined with seq and size.
// The sender's body is fixed per size, so stamping a message is O(1); the receiver
// hashes every byte it got.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ipc/core/buffer.hpp"

namespace ipc {

inline constexpr std::size_t kHeaderBytes = 16;

// A fast 64-bit hash (four independent multiply-xor lanes).
std::uint64_t hash_bytes(std::span<const std::byte> data) noexcept;

// Fills `data` with bytes derived from `seed`.
void fill_pattern(std::span<std::byte> data, std::uint64_t seed) noexcept;
// Throws MessageError naming the first wrong byte.
void check_pattern(std::span<const std::byte> data, std::uint64_t seed);

// A page-aligned message of a fixed size >= kHeaderBytes, re-stamped per send.
class Message {
 public:
  explicit Message(std::size_t size);
  void stamp(std::uint64_t seq) noexcept;
  std::span<const std::byte> bytes() const noexcept { return buf_.span(); }
  std::size_t size() const noexcept { return buf_.size(); }

 private:
  AlignedBuffer buf_;
  std::uint64_t body_hash_ = 0;
};

// Checks a received message: its size, sequence number, trailer and checksum.
// Throws MessageError("message 42: checksum mismatch ...") on any difference.
void verify_message(std::span<const std::byte> msg, std::size_t expected_size,
                    std::uint64_t expected_seq);

}  // namespace ipc
