#include "ipc/dict.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "ipc/error.hpp"
#include "ipc/message.hpp"

namespace ipc {
namespace {

constexpr std::size_t kHashed = kDictValueBytes - 8;

}  // namespace

std::string dict_key(std::size_t index) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "key-%05zu", index);
  return std::string(buf, static_cast<std::size_t>(n));
}

DictValue dict_value(std::size_t index) {
  DictValue v{};
  std::uint64_t i = index;
  std::memcpy(v.data(), &i, sizeof i);
  fill_pattern(std::span(v).subspan(8, kHashed - 8), i);
  std::uint64_t h = hash_bytes(std::span(v).first(kHashed));
  std::memcpy(v.data() + kHashed, &h, sizeof h);
  return v;
}

void check_dict_value(std::span<const std::byte> value, std::size_t index) {
  auto fail = [&](const std::string& why) {
    throw MessageError("dict value for " + dict_key(index) + ": " + why);
  };
  if (value.size() != kDictValueBytes)
    fail(std::to_string(value.size()) + " bytes, expected " + std::to_string(kDictValueBytes));
  std::uint64_t i, h;
  std::memcpy(&i, value.data(), sizeof i);
  std::memcpy(&h, value.data() + kHashed, sizeof h);
  if (i != index) fail("holds the value of key index " + std::to_string(i));
  if (hash_bytes(value.first(kHashed)) != h) fail("checksum mismatch (corrupted)");
}

Dict make_dict(std::size_t entries) {
  Dict d;
  d.reserve(entries);
  for (std::size_t i = 0; i < entries; ++i) d.emplace(dict_key(i), dict_value(i));
  return d;
}

}  // namespace ipc
