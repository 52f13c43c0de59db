#include "ipc/core/message.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

namespace {

// hash_bytes, after XXH3's design (github.com/Cyan4973/xxHash): short inputs fold
// 16-byte pairs through one 64x64->128-bit multiply each, independent of one another;
// long ones accumulate 64-byte stripes in eight 64-bit lanes (each lane adds its word
// and the 32x32->64-bit product of the word xor a key; the key moves on every stripe,
// so swapped stripes change the sum), with SSE2, or AVX2 where the CPU has it. The
// verification reads every byte of every message it checks, so this is what it costs.
constexpr std::uint64_t kSecret[8] = {
    0xbe4ba423396cfeb8ull, 0x1cad21f72c81017cull, 0xdb979083e96dd4deull, 0x1f67b3b7a4a44072ull,
    0x78e5c0cc4ee679cbull, 0x2172ffcc7dd05a82ull, 0x8e2443f7744608b8ull, 0x4c263a81e69035e0ull};
constexpr std::uint64_t kStep = 0x165667B19E3779F9ull;  // added to every key per stripe

__extension__ typedef unsigned __int128 U128;  // a GNU extension; -Wpedantic knows it so

std::uint64_t mul_fold(std::uint64_t a, std::uint64_t b) noexcept {
  const U128 p = static_cast<U128>(a) * b;
  return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
}

std::uint64_t mix16(const std::byte* p, std::uint64_t s1, std::uint64_t s2) noexcept {
  return mul_fold(load64(p) ^ s1, load64(p + 8) ^ s2);
}

std::uint64_t avalanche(std::uint64_t h) noexcept {
  h ^= h >> 37;
  h *= 0x165667919E3779F9ull;
  return h ^ (h >> 32);
}

std::uint64_t hash_short(const std::byte* p, std::size_t n) noexcept {
  std::uint64_t acc = n * kMul;
  if (n > 16) {
    // Pairs from both ends (they overlap when n is not a multiple of 16).
    acc += mix16(p, kSecret[0], kSecret[1]) + mix16(p + n - 16, kSecret[2], kSecret[3]);
    if (n > 32) {
      acc += mix16(p + 16, kSecret[4], kSecret[5]) + mix16(p + n - 32, kSecret[6], kSecret[7]);
      for (std::size_t i = 32; i + 32 < n; i += 16)
        acc += mix16(p + i, kSecret[i / 16 % 8] + i, kSecret[(i / 16 + 1) % 8] - i);
    }
  } else if (n >= 8) {
    acc += mul_fold(load64(p) ^ kSecret[0], load64(p + n - 8) ^ kSecret[1]);
  } else if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    acc += mul_fold(w ^ kSecret[2], n ^ kSecret[3]);
  }
  return avalanche(acc);
}

// The eight lanes' sums, folded; `tail` is the hash of the last bytes (< 64).
std::uint64_t fold_lanes(const std::uint64_t* lanes, std::uint64_t tail, std::size_t n) noexcept {
  std::uint64_t acc = n * kMul ^ tail;
  for (int i = 0; i < 8; i += 2)
    acc += mul_fold(lanes[i] ^ kSecret[i], lanes[i + 1] ^ kSecret[i + 1]);
  return avalanche(acc);
}

#if defined(__x86_64__)
// One lane pair per 128 bits: lane j += word j^1 (XXH3's swap) + lo32(w ^ k) * hi32(w ^ k).
__attribute__((target("sse2"))) std::uint64_t hash_long_sse2(const std::byte* p,
                                                             std::size_t n) noexcept {
  __m128i acc[4], key[4];
  const __m128i step = _mm_set1_epi64x(static_cast<long long>(kStep));
  for (int i = 0; i < 4; ++i) {
    acc[i] = _mm_setzero_si128();
    key[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSecret + 2 * i));
  }
  const std::size_t stripes = n / 64;
  for (std::size_t s = 0; s < stripes; ++s, p += 64) {
    for (int i = 0; i < 4; ++i) {
      const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      const __m128i k = _mm_xor_si128(d, key[i]);
      const __m128i prod = _mm_mul_epu32(k, _mm_shuffle_epi32(k, 0x31));
      acc[i] = _mm_add_epi64(acc[i], _mm_add_epi64(prod, _mm_shuffle_epi32(d, 0x4E)));
      key[i] = _mm_add_epi64(key[i], step);
    }
  }
  alignas(16) std::uint64_t lanes[8];
  for (int i = 0; i < 4; ++i) _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 2 * i), acc[i]);
  return fold_lanes(lanes, hash_short(p, n % 64), n);
}

// The same lanes, 256 bits at a time.
__attribute__((target("avx2"))) std::uint64_t hash_long_avx2(const std::byte* p,
                                                             std::size_t n) noexcept {
  __m256i acc[2], key[2];
  const __m256i step = _mm256_set1_epi64x(static_cast<long long>(kStep));
  for (int i = 0; i < 2; ++i) {
    acc[i] = _mm256_setzero_si256();
    key[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kSecret + 4 * i));
  }
  const std::size_t stripes = n / 64;
  for (std::size_t s = 0; s < stripes; ++s, p += 64) {
    for (int i = 0; i < 2; ++i) {
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
      const __m256i k = _mm256_xor_si256(d, key[i]);
      const __m256i prod = _mm256_mul_epu32(k, _mm256_shuffle_epi32(k, 0x31));
      acc[i] = _mm256_add_epi64(acc[i], _mm256_add_epi64(prod, _mm256_shuffle_epi32(d, 0x4E)));
      key[i] = _mm256_add_epi64(key[i], step);
    }
  }
  alignas(32) std::uint64_t lanes[8];
  for (int i = 0; i < 2; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 4 * i), acc[i]);
  return fold_lanes(lanes, hash_short(p, n % 64), n);
}

// The eight lanes in one register: a stripe a step (the maskz forms, all lanes set: g++
// 12 warns that the plain ones' undefined pass-through may be uninitialized). Two accumulators
// (even and odd stripes, keys two steps apart) keep two stripes in flight; their sum is the same.
__attribute__((target("avx512f"))) std::uint64_t hash_long_avx512(const std::byte* p,
                                                                  std::size_t n) noexcept {
  const __m512i step2 = _mm512_set1_epi64(static_cast<long long>(2 * kStep));
  __m512i key[2], acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  key[0] = _mm512_loadu_si512(kSecret);
  key[1] = _mm512_add_epi64(key[0], _mm512_set1_epi64(static_cast<long long>(kStep)));
  const std::size_t stripes = n / 64;
  std::size_t s = 0;
  for (; s + 2 <= stripes; s += 2, p += 128) {
    for (int i = 0; i < 2; ++i) {
      const __m512i d = _mm512_loadu_si512(p + 64 * i);
      const __m512i k = _mm512_xor_si512(d, key[i]);
      const __m512i prod = _mm512_maskz_mul_epu32(
          0xFF, k, _mm512_maskz_shuffle_epi32(0xFFFF, k, _MM_PERM_ENUM(0x31)));
      acc[i] = _mm512_add_epi64(
          acc[i],
          _mm512_add_epi64(prod, _mm512_maskz_shuffle_epi32(0xFFFF, d, _MM_PERM_ENUM(0x4E))));
      key[i] = _mm512_add_epi64(key[i], step2);
    }
  }
  if (s < stripes) {
    const __m512i d = _mm512_loadu_si512(p);
    const __m512i k = _mm512_xor_si512(d, key[0]);
    const __m512i prod =
        _mm512_maskz_mul_epu32(0xFF, k, _mm512_maskz_shuffle_epi32(0xFFFF, k, _MM_PERM_ENUM(0x31)));
    acc[0] = _mm512_add_epi64(
        acc[0], _mm512_add_epi64(prod, _mm512_maskz_shuffle_epi32(0xFFFF, d, _MM_PERM_ENUM(0x4E))));
    p += 64;
  }
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(acc[0], acc[1]));
  return fold_lanes(lanes, hash_short(p, n % 64), n);
}

using HashLong = std::uint64_t (*)(const std::byte*, std::size_t) noexcept;
const HashLong kHashLong = [] {
  __builtin_cpu_init();  // we may run before libgcc's own initialiser
  if (__builtin_cpu_supports("avx512f")) return hash_long_avx512;
  return __builtin_cpu_supports("avx2") ? hash_long_avx2 : hash_long_sse2;
}();
#else
// The same lanes, one word at a time.
std::uint64_t kHashLong(const std::byte* p, std::size_t n) noexcept {
  std::uint64_t acc[8] = {}, key[8];
  std::memcpy(key, kSecret, sizeof key);
  for (std::size_t s = 0; s < n / 64; ++s, p += 64) {
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t k = load64(p + 8 * j) ^ key[j];
      acc[j] += (k & 0xFFFFFFFFu) * (k >> 32) + load64(p + 8 * (j ^ 1));
      key[j] += kStep;
    }
  }
  return fold_lanes(acc, hash_short(p, n % 64), n);
}
#endif

}  // namespace

std::uint64_t hash_bytes(std::span<const std::byte> data) noexcept {
  if (data.size() <= 128) return hash_short(data.data(), data.size());
  return kHashLong(data.data(), data.size());
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
