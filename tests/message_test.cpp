#include "ipc/core/message.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/core/buffer.hpp"
#include "ipc/core/error.hpp"
#include "ipc/transports/pipe.hpp"
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

class StaleBodyTest : public ::testing::TestWithParam<std::size_t> {};

// Message `seq`'s header and trailer around the body of message `body_seq`.
std::vector<std::byte> fresh_ends_stale_body(std::size_t size, std::uint64_t seq,
                                             std::uint64_t body_seq) {
  Message m(size);
  m.stamp(body_seq);
  auto buf = copy(m.bytes());
  m.stamp(seq);
  std::memcpy(buf.data(), m.bytes().data(), kHeaderBytes);
  if (size >= kHeaderBytes + 8) std::memcpy(buf.data() + size - 8, m.bytes().data() + size - 8, 8);
  return buf;
}

TEST_P(StaleBodyTest, PreviousOrOlderBodyWithTheNewHeaderAndTrailerIsCaught) {
  // What a transport that copies only header and trailer into a reused buffer delivers.
  const std::size_t size = GetParam();
  for (std::uint64_t body_seq : {0ull, 6ull, 8ull, 1000ull}) {
    SCOPED_TRACE(body_seq);
    expect_rejected(fresh_ends_stale_body(size, 7, body_seq), size, 7,
                    "message 7: checksum mismatch");
  }
  EXPECT_NO_THROW(verify_message(fresh_ends_stale_body(size, 7, 7), size, 7));
}

// The stamp stride of message.hpp: a line up to a 4 KiB body, a page above.
std::size_t stamp_unit(std::size_t size) {
  const std::size_t body = size >= kHeaderBytes + 8 ? size - kHeaderBytes - 8 : size - kHeaderBytes;
  return body <= 4096 ? 64 : 4096;
}

TEST_P(StaleBodyTest, EveryStaleLineOrPageIsCaught) {
  // One 64-byte line (4 KiB page of a larger message) of the message before left in a
  // reused slot (a torn read), with this message's header: each holds a stamp or the
  // trailer.
  const std::size_t size = GetParam();
  const std::size_t unit = stamp_unit(size);
  const std::size_t step = std::max(unit, size / 2048 / unit * unit);  // ~2048 units at most
  Message m(size);
  m.stamp(41);
  const auto old = copy(m.bytes());
  m.stamp(42);
  const auto fresh = copy(m.bytes());
  const std::size_t body_end = size >= kHeaderBytes + 8 ? size - 8 : size;
  for (std::size_t line = 0; line < body_end; line += step) {
    auto bad = fresh;
    const std::size_t end = std::min(line + unit, size);
    std::memcpy(bad.data() + line, old.data() + line, end - line);
    std::memcpy(bad.data(), fresh.data(), kHeaderBytes);  // the header is this message's
    EXPECT_THROW(verify_message(bad, size, 42), MessageError) << "stale bytes at " << line;
  }
}

TEST_P(StaleBodyTest, TwoMessagesDifferInEveryStampedWord) {
  const std::size_t size = GetParam();
  const std::size_t unit = stamp_unit(size);
  Message m(size);
  m.stamp(1);
  const auto a = copy(m.bytes());
  m.stamp(2);
  const auto b = copy(m.bytes());
  const std::size_t body_end = size >= kHeaderBytes + 8 ? size - 8 : size;
  std::size_t changed = 0;
  for (std::size_t i = kHeaderBytes; i + 8 <= body_end; i += 8)
    changed += std::memcmp(a.data() + i, b.data() + i, 8) != 0;
  std::size_t stamps = 0;  // whole stamped words
  for (std::size_t i = kHeaderBytes; i + 8 <= body_end; i += unit) ++stamps;
  EXPECT_GE(changed, stamps);
}

INSTANTIATE_TEST_SUITE_P(Sizes, StaleBodyTest,
                         ::testing::Values(17, 25, 60, 64, 152, 153, 256, 4096, 4120, 4121,
                                           65537, 1 << 20));

// Wraps a real transport and copies only each message's 16-byte header and 8-byte trailer
// into the receiver's buffer (the first message whole): a transport that skipped the
// payload. The body the receiver sees is the one left in its buffer.
class HeaderTrailerOnly final : public Transport {
 public:
  explicit HeaderTrailerOnly(std::unique_ptr<Transport> inner) : inner_(std::move(inner)) {}
  void send(std::span<const std::byte> m) override { inner_->send(m); }
  std::size_t recv(std::span<std::byte> buffer) override {
    if (scratch_.size() < buffer.size()) scratch_ = AlignedBuffer(buffer.size());
    const std::size_t n = inner_->recv(scratch_.span().first(buffer.size()));
    if (std::exchange(first_, false) || n < kHeaderBytes + 8) {
      std::memcpy(buffer.data(), scratch_.data(), n);
    } else {
      std::memcpy(buffer.data(), scratch_.data(), kHeaderBytes);
      std::memcpy(buffer.data() + n - 8, scratch_.data() + n - 8, 8);
    }
    return n;
  }
  void shutdown() noexcept override { inner_->shutdown(); }

 private:
  std::unique_ptr<Transport> inner_;
  AlignedBuffer scratch_;
  bool first_ = true;
};

class SkippedPayloadTest : public ::testing::TestWithParam<std::size_t> {};

// Sends `count` stamped messages through a pipe (the receiving end wrapped by `wrap`
// unless null) and verifies each as the benchmarks do, into one reused buffer. Returns
// how many verified before the first error, and that error.
std::pair<std::uint64_t, std::string> stream(std::size_t size, std::uint64_t count, bool wrap) {
  Channel ch = make_pipe_channel({});
  std::unique_ptr<Transport> in = std::move(ch.b);
  if (wrap) in = std::make_unique<HeaderTrailerOnly>(std::move(in));
  std::thread sender([&] {
    try {
      Message m(size);
      for (std::uint64_t seq = 0; seq < count; ++seq) {
        m.stamp(seq);
        ch.a->send(m.bytes());
      }
    } catch (const std::exception&) {  // the receiver stopped early and shut down
    }
  });
  AlignedBuffer buf(size);
  std::uint64_t seq = 0;
  std::string error;
  try {
    for (; seq < count; ++seq) verify_message(buf.span().first(in->recv(buf.span())), size, seq);
  } catch (const MessageError& e) {
    error = e.what();
  }
  in->shutdown();
  ch.a->shutdown();
  sender.join();
  return {seq, error};
}

TEST_P(SkippedPayloadTest, ATransportThatCopiesOnlyHeaderAndTrailerFailsVerification) {
  const std::size_t size = GetParam();
  EXPECT_EQ(stream(size, 20, false), std::make_pair(std::uint64_t{20}, std::string()));
  const auto [verified, error] = stream(size, 20, true);
  EXPECT_EQ(verified, 1u);  // message 0 was copied whole
  EXPECT_EQ(error, "message 1: checksum mismatch (corrupted)");
}

INSTANTIATE_TEST_SUITE_P(Sizes, SkippedPayloadTest,
                         ::testing::Values(25, 64, 4096, 65536, 1 << 20));

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
