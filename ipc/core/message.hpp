// Verified messages: every benchmark message carries a sequence number and a checksum so
// that the receiver proves each one arrived, in order and intact, body included.
//
// Layout (size >= 16): [seq u64][size u32][checksum u32][body ...][seq u64 trailer if size >= 24]
// The body is a fixed pattern per size with stamps written over it: 8-byte words that
// depend on the message's seq, one per 64 bytes in a body of up to 4 KiB, one per 4 KiB
// above (at the body's end, cut to the bytes left). So every 64-byte line of a message of
// up to 4 KiB, and every 4 KiB page of a larger one, holds a stamp, the header or the
// trailer, and a body left over from another message (a reused buffer, a stale slot or
// page, a duplicate) has other stamps. The receiver hashes every byte of the body with
// this message's stamps xored out and checks that against the checksum, which covers the
// pattern's hash, seq and size. Stamping is a store per stamp, not a rewrite of the body.
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

// A page-aligned message of a fixed size >= kHeaderBytes, re-stamped per send (header,
// trailer and the body's stamps).
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

// Checks a received message: its size, sequence number, trailer, and the checksum of its
// body as this message's (stamps included).
// Throws MessageError("message 42: checksum mismatch ...") on any difference.
void verify_message(std::span<const std::byte> msg, std::size_t expected_size,
                    std::uint64_t expected_seq);

}  // namespace ipc
