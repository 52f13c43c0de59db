// The shared-dictionary scenario's data: string keys "key-00042" with 64-byte values that
// encode their key's index and a checksum, so every lookup can be verified; and a plain
// string-keyed map of them that accepts std::string_view lookups.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ipc {

inline constexpr std::size_t kDictValueBytes = 64;
using DictValue = std::array<std::byte, kDictValueBytes>;

// "key-00042" (at least five digits).
std::string dict_key(std::size_t index);

// [index u64][48 bytes derived from index][hash of the first 56 bytes u64].
DictValue dict_value(std::size_t index);

// Throws MessageError("dict value for key-00042: ...") unless `value` is dict_value(index).
void check_dict_value(std::span<const std::byte> value, std::size_t index);

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

using Dict = std::unordered_map<std::string, DictValue, StringHash, std::equal_to<>>;

// dict_key(i) -> dict_value(i) for i in [0, entries).
Dict make_dict(std::size_t entries);

}  // namespace ipc
