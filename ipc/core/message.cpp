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

// Between header and trailer (std::byte or const std::byte).
template <typename Byte>
std::span<Byte> body_of(std::span<Byte> msg) noexcept {
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

// A message's stamps (message.hpp): stamp k is first + k * step, at the start of every
// `every`-th 64-byte stripe. The hash xors them out of the words they were written over
// as it reads them; Stamps{} (all zero) hashes the bytes as they are.
struct Stamps {
  std::uint64_t first = 0;
  std::uint64_t step = 0;
  std::size_t every = 1;
  std::uint64_t nth(std::uint64_t k) const noexcept { return first + k * step; }
  // The stamp at the start of stripe s, 0 if it has none (xoring 0 changes nothing).
  std::uint64_t at_stripe(std::size_t s) const noexcept {
    return s % every == 0 ? nth(s / every) : 0;
  }
};

// Xors `stamp` into the 8 bytes at p, or the n < 8 of them there are.
void xor_stamp(std::byte* p, std::size_t n, std::uint64_t stamp) noexcept {
  if (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= stamp;
    std::memcpy(p, &w, 8);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) p[i] ^= static_cast<std::byte>(stamp >> (8 * i));
}

// hash_short of the last n < 64 bytes of a long input, whose first word (or what of it
// there is) carries `stamp` (0: none, and xoring 0 changes nothing).
std::uint64_t hash_tail(const std::byte* p, std::size_t n, std::uint64_t stamp) noexcept {
  if (stamp == 0 || n == 0) return hash_short(p, n);
  std::byte t[64];
  std::memcpy(t, p, n);
  xor_stamp(t, n, stamp);
  return hash_short(t, n);
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
__attribute__((target("sse2"))) std::uint64_t hash_long_sse2(const std::byte* p, std::size_t n,
                                                             Stamps stamps) noexcept {
  __m128i acc[4], key[4];
  const __m128i step = _mm_set1_epi64x(static_cast<long long>(kStep));
  __m128i stamp = _mm_set_epi64x(0, static_cast<long long>(stamps.first));
  const __m128i stamp_step = _mm_set_epi64x(0, static_cast<long long>(stamps.step));
  for (int i = 0; i < 4; ++i) {
    acc[i] = _mm_setzero_si128();
    key[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSecret + 2 * i));
  }
  const std::size_t stripes = n / 64;
  std::size_t next = 0;  // the next stripe that starts with a stamp
  for (std::size_t s = 0; s < stripes; ++s, p += 64) {
    const bool stamped = s == next;
    for (int i = 0; i < 4; ++i) {
      __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
      if (i == 0 && stamped) d = _mm_xor_si128(d, stamp);
      const __m128i k = _mm_xor_si128(d, key[i]);
      const __m128i prod = _mm_mul_epu32(k, _mm_shuffle_epi32(k, 0x31));
      acc[i] = _mm_add_epi64(acc[i], _mm_add_epi64(prod, _mm_shuffle_epi32(d, 0x4E)));
      key[i] = _mm_add_epi64(key[i], step);
    }
    if (stamped) {
      stamp = _mm_add_epi64(stamp, stamp_step);
      next += stamps.every;
    }
  }
  alignas(16) std::uint64_t lanes[8];
  for (int i = 0; i < 4; ++i) _mm_store_si128(reinterpret_cast<__m128i*>(lanes + 2 * i), acc[i]);
  return fold_lanes(lanes, hash_tail(p, n % 64, stamps.at_stripe(stripes)), n);
}

// The same lanes, 256 bits at a time.
__attribute__((target("avx2"))) std::uint64_t hash_long_avx2(const std::byte* p, std::size_t n,
                                                             Stamps stamps) noexcept {
  __m256i acc[2], key[2];
  const __m256i step = _mm256_set1_epi64x(static_cast<long long>(kStep));
  __m256i stamp = _mm256_set_epi64x(0, 0, 0, static_cast<long long>(stamps.first));
  const __m256i stamp_step = _mm256_set_epi64x(0, 0, 0, static_cast<long long>(stamps.step));
  for (int i = 0; i < 2; ++i) {
    acc[i] = _mm256_setzero_si256();
    key[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kSecret + 4 * i));
  }
  const std::size_t stripes = n / 64;
  std::size_t next = 0;  // the next stripe that starts with a stamp
  for (std::size_t s = 0; s < stripes; ++s, p += 64) {
    const bool stamped = s == next;
    for (int i = 0; i < 2; ++i) {
      __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * i));
      if (i == 0 && stamped) d = _mm256_xor_si256(d, stamp);
      const __m256i k = _mm256_xor_si256(d, key[i]);
      const __m256i prod = _mm256_mul_epu32(k, _mm256_shuffle_epi32(k, 0x31));
      acc[i] = _mm256_add_epi64(acc[i], _mm256_add_epi64(prod, _mm256_shuffle_epi32(d, 0x4E)));
      key[i] = _mm256_add_epi64(key[i], step);
    }
    if (stamped) {
      stamp = _mm256_add_epi64(stamp, stamp_step);
      next += stamps.every;
    }
  }
  alignas(32) std::uint64_t lanes[8];
  for (int i = 0; i < 2; ++i) _mm256_store_si256(reinterpret_cast<__m256i*>(lanes + 4 * i), acc[i]);
  return fold_lanes(lanes, hash_tail(p, n % 64, stamps.at_stripe(stripes)), n);
}

// The eight lanes in one register: a stripe a step (the maskz forms, all lanes set: g++
// 12 warns that the plain ones' undefined pass-through may be uninitialized). Two accumulators
// (even and odd stripes, keys two steps apart) keep two stripes in flight; their sum is the same.
__attribute__((target("avx512f"))) std::uint64_t hash_long_avx512(const std::byte* p,
                                                                  std::size_t n,
                                                                  Stamps stamps) noexcept {
  const __m512i step2 = _mm512_set1_epi64(static_cast<long long>(2 * kStep));
  __m512i key[2], acc[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
  key[0] = _mm512_loadu_si512(kSecret);
  key[1] = _mm512_add_epi64(key[0], _mm512_set1_epi64(static_cast<long long>(kStep)));
  const __m512i stamp_step =
      _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, static_cast<long long>(stamps.step));
  __m512i stamp = _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, static_cast<long long>(stamps.first));
  std::size_t next = 0;  // the next stripe that starts with a stamp
  const std::size_t stripes = n / 64;
  std::size_t s = 0;
  for (; s + 2 <= stripes; s += 2, p += 128) {
    for (int i = 0; i < 2; ++i) {
      __m512i d = _mm512_loadu_si512(p + 64 * i);
      if (s + i == next) {
        d = _mm512_xor_si512(d, stamp);
        stamp = _mm512_add_epi64(stamp, stamp_step);
        next += stamps.every;
      }
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
    __m512i d = _mm512_loadu_si512(p);
    if (s == next) d = _mm512_xor_si512(d, stamp);
    const __m512i k = _mm512_xor_si512(d, key[0]);
    const __m512i prod =
        _mm512_maskz_mul_epu32(0xFF, k, _mm512_maskz_shuffle_epi32(0xFFFF, k, _MM_PERM_ENUM(0x31)));
    acc[0] = _mm512_add_epi64(
        acc[0], _mm512_add_epi64(prod, _mm512_maskz_shuffle_epi32(0xFFFF, d, _MM_PERM_ENUM(0x4E))));
    p += 64;
  }
  alignas(64) std::uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(acc[0], acc[1]));
  return fold_lanes(lanes, hash_tail(p, n % 64, stamps.at_stripe(stripes)), n);
}

using HashLong = std::uint64_t (*)(const std::byte*, std::size_t, Stamps) noexcept;
const HashLong kHashLong = [] {
  __builtin_cpu_init();  // we may run before libgcc's own initialiser
  if (__builtin_cpu_supports("avx512f")) return hash_long_avx512;
  return __builtin_cpu_supports("avx2") ? hash_long_avx2 : hash_long_sse2;
}();
#else
// The same lanes, one word at a time.
std::uint64_t kHashLong(const std::byte* p, std::size_t n, Stamps stamps) noexcept {
  std::uint64_t acc[8] = {}, key[8];
  std::memcpy(key, kSecret, sizeof key);
  const std::size_t stripes = n / 64;
  for (std::size_t s = 0; s < stripes; ++s, p += 64) {
    std::uint64_t w[8];
    std::memcpy(w, p, sizeof w);
    w[0] ^= stamps.at_stripe(s);
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t k = w[j] ^ key[j];
      acc[j] += (k & 0xFFFFFFFFu) * (k >> 32) + w[j ^ 1];
      key[j] += kStep;
    }
  }
  return fold_lanes(acc, hash_tail(p, n % 64, stamps.at_stripe(stripes)), n);
}
#endif

// A body's stamps (message.hpp), written over the pattern: one word per 64 bytes (the
// start of each of kHashLong's stripes) in a body of up to kLineStamped bytes, one per
// 4 KiB page in a larger one; a stamp at the end of a body is cut to the bytes left.
// Why pages there: a stamp dirties its cache line, and one per line made the sender's
// side of a 64 KiB message cost ~0.7 us and of 1 MiB ~16 us (as much as the copy).
constexpr std::size_t kShortBody = 128;  // hash_short's
constexpr std::size_t kLineStamped = 4096;
constexpr std::uint64_t kStampStep = 0xD1B54A32D192ED03ull;  // odd: stamps of one message differ

std::size_t stamp_stride(std::size_t body_size) noexcept {
  return body_size <= kLineStamped ? 64 : 4096;
}

// Message seq's stamps: the first is splitmix64's output for seq (a bijection, so two
// messages' stamps differ at every word, and in nearly every byte).
Stamps stamps_for(std::uint64_t seq, std::size_t body_size) noexcept {
  std::uint64_t z = seq + kMul;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return {z ^ (z >> 31), kStampStep, stamp_stride(body_size) / 64};
}

void write_stamps(std::span<std::byte> body, Stamps stamps) noexcept {
  const std::size_t n = body.size(), stride = stamp_stride(n);
  std::byte* p = body.data();
  std::uint64_t w = stamps.first;
  std::size_t i = 0;
  for (; i + 8 <= n; i += stride, w += stamps.step) std::memcpy(p + i, &w, sizeof w);
  if (i < n) std::memcpy(p + i, &w, n - i);
}

// hash_bytes of `body` with `stamps` xored out of it: every byte is read once, and the
// result is the pattern's hash only if each stamp is this message's.
std::uint64_t hash_unstamped(std::span<const std::byte> body, Stamps stamps) noexcept {
  const std::size_t n = body.size();
  if (n > kShortBody) return kHashLong(body.data(), n, stamps);
  if (n == 0) return hash_short(body.data(), 0);
  std::byte t[kShortBody];
  std::memcpy(t, body.data(), n);
  xor_stamp(t, n, stamps.first);
  if (n > 64) xor_stamp(t + 64, n - 64, stamps.nth(1));
  return hash_short(t, n);
}

}  // namespace

std::uint64_t hash_bytes(std::span<const std::byte> data) noexcept {
  if (data.size() <= kShortBody) return hash_short(data.data(), data.size());
  return kHashLong(data.data(), data.size(), Stamps{});
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
  // The pattern under the stamps is zero, so a stamped body with its stamps xored out
  // (hash_unstamped) is this body again, whatever the message.
  write_stamps(body_of(buf_.span()), Stamps{});
  body_hash_ = hash_bytes(body_of(buf_.span()));
}

void Message::stamp(std::uint64_t seq) noexcept {
  std::byte* p = buf_.data();
  auto size32 = static_cast<std::uint32_t>(buf_.size());
  std::uint32_t sum = checksum(body_hash_, seq, buf_.size());
  write_stamps(body_of(buf_.span()), stamps_for(seq, body_of(buf_.span()).size()));
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
  // The body's stamps must be this message's: a stale, reused or duplicated body fails here.
  const std::span<const std::byte> body = body_of(msg);
  if (checksum(hash_unstamped(body, stamps_for(seq, body.size())), seq, msg.size()) != sum)
    fail("checksum mismatch (corrupted)");
}

}  // namespace ipc
