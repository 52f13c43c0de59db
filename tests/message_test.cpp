#include "ipc/core/message.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ipc/core/error.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

std::vector<std::byte> copy(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

void expect_rejected(std::span<const std::byte> msg, std::size_t size, std::uint64_t seq,
                     const char* why) {
  try {
    verify_message(msg, size, seq);
    FAIL() << "accepted a bad message (" << why << ")";
  } catch (const MessageError& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
  }
}

class MessageTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(MessageTest, StampedMessagesVerify) {
  Message m(GetParam());
  for (std::uint64_t seq : {0ull, 1ull, 77ull, ~0ull}) {
    m.stamp(seq);
    EXPECT_NO_THROW(verify_message(m.bytes(), GetParam(), seq));
  }
}

TEST_P(MessageTest, EveryByteFlipIsCaught) {
  Message m(GetParam());
  m.stamp(5);
  auto bytes = copy(m.bytes());
  for (std::size_t i = 0; i < bytes.size(); i += std::max<std::size_t>(1, bytes.size() / 97)) {
    auto bad = bytes;
    bad[i] ^= std::byte{0x10};
    EXPECT_THROW(verify_message(bad, bytes.size(), 5), MessageError) << "offset " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, MessageTest, ::testing::Values(16, 17, 24, 256, 4096, 65537));

TEST(MessageErrorsTest, NameWhatIsWrong) {
  Message m(256);
  m.stamp(3);
  expect_rejected(m.bytes(), 256, 4, "message 4: out of order or lost: got sequence number 3");
  expect_rejected(m.bytes().first(200), 256, 3, "message 3: size 200, expected 256");
  auto torn = copy(m.bytes());
  torn[250] = std::byte{0xFF};
  expect_rejected(torn, 256, 3, "trailer does not match");
  auto corrupt = copy(m.bytes());
  corrupt[100] ^= std::byte{1};
  expect_rejected(corrupt, 256, 3, "checksum mismatch");
}

TEST(MessageErrorsTest, StaleBodyWithFreshHeaderIsCaught) {
  // A transport that copied only the header of message 2 over message 1.
  Message m(4096);
  m.stamp(1);
  auto buf = copy(m.bytes());
  m.stamp(2);
  std::memcpy(buf.data(), m.bytes().data(), kHeaderBytes);
  EXPECT_THROW(verify_message(buf, 4096, 2), MessageError);
}

TEST(PatternTest, RoundTripsAndNamesTheOffset) {
  std::vector<std::byte> buf(1000);
  fill_pattern(buf, 9);
  EXPECT_NO_THROW(check_pattern(buf, 9));
  EXPECT_THROW(check_pattern(buf, 10), MessageError);
  buf[123] ^= std::byte{1};
  try {
    check_pattern(buf, 9);
    FAIL();
  } catch (const MessageError& e) {
    EXPECT_STREQ(e.what(), "message 9: wrong byte at offset 123 of 1000");
  }
}

TEST(HashTest, DependsOnEveryByteAndTheLength) {
  std::vector<std::byte> a(100, std::byte{7});
  auto b = a;
  b[99] = std::byte{8};
  EXPECT_NE(hash_bytes(a), hash_bytes(b));
  EXPECT_NE(hash_bytes(std::span(a).first(99)), hash_bytes(a));
}

}  // namespace
}  // namespace ipc
