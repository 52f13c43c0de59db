#include "ipc/core/message.hpp"

#include <bit>
#include <cstring>
#include <string>

#include "ipc/core/check.hpp"
#include "ipc/core/error.hpp"

namespace ipc {
namespace {

constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
constexpr std::size_t kTrailerMin = kHeaderBytes + 8;

std::uint64_t load64(const std::byte* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return h;
}

std::span<const std::byte> body_of(std::span<const std::byte> msg) noexcept {
  std::size_t end = msg.size() >= kTrailerMin ? msg.size() - 8 : msg.size();
  return msg.subspan(kHeaderBytes, end - kHeaderBytes);
}

std::uint32_t checksum(std::uint64_t body_hash, std::uint64_t seq, std::size_t size) noexcept {
  std::uint64_t h = mix(body_hash ^ mix(seq + kMul) ^ (size * kMul));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace

std::uint64_t hash_bytes(std::span<const std::byte> data) noexcept {
  std::uint64_t h[4] = {1, 2, 3, 4};
  const std::byte* p = data.data();
  std::size_t n = data.size();
  for (; n >= 32; p += 32, n -= 32) {
    for (int i = 0; i < 4; ++i) h[i] = std::rotl((h[i] ^ load64(p + 8 * i)) * kMul, 29);
  }
  // The rest a word at a time, then the last 0-7 bytes as one zero-padded word: a
  // byte-at-a-time loop here was half the cost of verifying a 64-byte message.
  std::uint64_t tail = n;
  for (; n >= 8; p += 8, n -= 8) tail = (tail ^ load64(p)) * kMul;
  if (n > 0) {
    std::uint64_t last = 0;
    std::memcpy(&last, p, n);
    tail = (tail ^ last) * kMul;
  }
  return mix(h[0] ^ std::rotl(h[1], 17) ^ std::rotl(h[2], 31) ^ std::rotl(h[3], 47) ^ mix(tail) ^
             data.size());
}

void fill_pattern(std::span<std::byte> data, std::uint64_t seed) noexcept {
  std::uint64_t x = mix(seed + kMul);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i % 8 == 0) x = mix(x + kMul);
    data[i] = static_cast<std::byte>(x >> (8 * (i % 8)));
  }
}

void check_pattern(std::span<const std::byte> data, std::uint64_t seed) {
  std::uint64_t x = mix(seed + kMul);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i % 8 == 0) x = mix(x + kMul);
    if (data[i] != static_cast<std::byte>(x >> (8 * (i % 8))))
      throw MessageError("message " + std::to_string(seed) + ": wrong byte at offset " +
                         std::to_string(i) + " of " + std::to_string(data.size()));
  }
}

Message::Message(std::size_t size) : buf_(size) {
  IPC_CHECK(size >= kHeaderBytes, "a verified message needs at least 16 bytes");
  fill_pattern(buf_.span(), size);
  body_hash_ = hash_bytes(body_of(buf_.span()));
}

void Message::stamp(std::uint64_t seq) noexcept {
  std::byte* p = buf_.data();
  auto size32 = static_cast<std::uint32_t>(buf_.size());
  std::uint32_t sum = checksum(body_hash_, seq, buf_.size());
  std::memcpy(p, &seq, 8);
  std::memcpy(p + 8, &size32, 4);
  std::memcpy(p + 12, &sum, 4);
  if (buf_.size() >= kTrailerMin) std::memcpy(p + buf_.size() - 8, &seq, 8);
}

void verify_message(std::span<const std::byte> msg, std::size_t expected_size,
                    std::uint64_t expected_seq) {
  auto fail = [&](const std::string& why) {
    throw MessageError("message " + std::to_string(expected_seq) + ": " + why);
  };
  if (msg.size() != expected_size)
    fail("size " + std::to_string(msg.size()) + ", expected " + std::to_string(expected_size));
  if (msg.size() < kHeaderBytes) fail("shorter than its header");
  std::uint64_t seq;
  std::uint32_t size32, sum;
  std::memcpy(&seq, msg.data(), 8);
  std::memcpy(&size32, msg.data() + 8, 4);
  std::memcpy(&sum, msg.data() + 12, 4);
  if (seq != expected_seq) fail("out of order or lost: got sequence number " + std::to_string(seq));
  if (size32 != msg.size()) fail("header says " + std::to_string(size32) + " bytes");
  if (msg.size() >= kTrailerMin && load64(msg.data() + msg.size() - 8) != seq)
    fail("trailer does not match the header (truncated or torn)");
  if (checksum(hash_bytes(body_of(msg)), seq, msg.size()) != sum)
    fail("checksum mismatch (corrupted)");
}

}  // namespace ipc
