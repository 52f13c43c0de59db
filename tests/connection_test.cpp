// Listener / Client / Connection: every family connects and carries messages of any
// size, errors say what happened (peer closed mid-message, address in use, timeouts),
// and a unix socket file is gone once its Listener is.
#include "ipc/fixtures/connection.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/core/message.hpp"
#include "ipc/os/child_process.hpp"
#include "tests/test_support.hpp"

namespace ipc::connection {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout(10'000);

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::vector<std::byte> pattern(std::size_t size, std::uint64_t seed) {
  std::vector<std::byte> v(size);
  fill_pattern(v, seed);
  return v;
}

class ConnectionTest : public ::testing::TestWithParam<Family> {};

std::string family_param(const ::testing::TestParamInfo<Family>& info) {
  std::string name(family_name(info.param));
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

constexpr std::size_t kSizes[] = {0,    1,     7,     8,     9,       4095,
                                  4096, 65535, 65536, 65537, 1 << 20, (8 << 20) + 3};

// The server echoes every message back; an empty message ends it.
void echo_server(Listener& listener) {
  Connection c = listener.accept();
  for (;;) {
    std::vector<std::byte> m = c.recv_bytes();
    c.send_bytes(m);
    if (m.empty()) return;
  }
}

void exchange_all_sizes(const Address& address) {
  Connection c = Client(address, kTimeout);
  std::uint64_t seed = 0;
  for (std::size_t size : kSizes) {
    if (size == 0) continue;
    c.send_bytes(pattern(size, ++seed));
    std::vector<std::byte> back = c.recv_bytes();
    ASSERT_EQ(back.size(), size);
    check_pattern(back, seed);
  }
  c.send_bytes({});
  EXPECT_EQ(c.recv_bytes().size(), 0u);
  c.close();
  EXPECT_TRUE(c.closed());
}

TEST_P(ConnectionTest, ThreadServerEchoesMessagesOfEverySize) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  std::string error;
  std::thread server([&] {
    try {
      echo_server(listener);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  EXPECT_NO_THROW(exchange_all_sizes(listener.address()));
  server.join();
  EXPECT_EQ(error, "");
}

TEST_P(ConnectionTest, ProcessServerEchoesMessagesOfEverySize) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  auto child = ChildProcess::fork([&] { echo_server(listener); });
  EXPECT_NO_THROW(exchange_all_sizes(listener.address()));
  auto status = child.wait_for(kTimeout);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->describe();
}

TEST_P(ConnectionTest, PeerClosingMidMessageIsAClearError) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  {
    Connection client = Client(listener.address(), kTimeout);
    std::uint64_t len = 1000;  // announce 1000 bytes, send 10, close
    std::byte body[10]{};
    ASSERT_EQ(::write(client.fd(), &len, sizeof len), 8);
    ASSERT_EQ(::write(client.fd(), body, sizeof body), 10);
  }
  Connection server = listener.accept();
  try {
    server.recv_bytes();
    ADD_FAILURE() << "no error";
  } catch (const ClosedError& e) {
    EXPECT_NE(std::string(e.what()).find("peer closed mid-message (got 10 of 1000 message bytes)"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(listener.address().to_string()), std::string::npos)
        << e.what();
  }
}

TEST_P(ConnectionTest, PeerClosingMidLengthIsAClearError) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  {
    Connection client = Client(listener.address(), kTimeout);
    std::byte half[3]{};
    ASSERT_EQ(::write(client.fd(), half, sizeof half), 3);
  }
  Connection server = listener.accept();
  EXPECT_THROW(
      {
        try {
          server.recv_bytes();
        } catch (const ClosedError& e) {
          EXPECT_NE(std::string(e.what()).find("got 3 of 8 length bytes"), std::string::npos)
              << e.what();
          throw;
        }
      },
      ClosedError);
}

TEST_P(ConnectionTest, PeerClosingBetweenMessagesIsEndOfStream) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  Client(listener.address(), kTimeout).send_bytes(pattern(5, 1));
  Connection server = listener.accept();
  EXPECT_EQ(server.recv_bytes().size(), 5u);
  try {
    server.recv_bytes();
    ADD_FAILURE() << "no error";
  } catch (const ClosedError& e) {
    EXPECT_NE(std::string(e.what()).find(": peer closed"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("mid-message"), std::string::npos) << e.what();
  }
  server.close();
  EXPECT_THROW(server.send_bytes({}), ClosedError);
}

TEST_P(ConnectionTest, AddressAlreadyInUse) {
  Listener first = Listener::any(GetParam(), kTimeout);
  try {
    Listener second(first.address());
    ADD_FAILURE() << "second bind succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("bind " + first.address().to_string()), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos);
  }
  // The failed Listener must not have removed the first one's socket.
  Connection c = Client(first.address(), kTimeout);
  EXPECT_FALSE(c.closed());
}

TEST_P(ConnectionTest, MessageTooLargeForTheBufferKeepsTheStreamInStep) {
  Listener listener = Listener::any(GetParam(), kTimeout);
  Connection client = Client(listener.address(), kTimeout);
  Connection server = listener.accept();
  client.send_bytes(pattern(100'000, 1));
  client.send_bytes(pattern(10, 2));
  std::byte small[64];
  EXPECT_THROW(server.recv_bytes(small), MessageError);
  ASSERT_EQ(server.recv_bytes(small), 10u);
  check_pattern(std::span(small, 10), 2);
  client.send_bytes(pattern(100, 3));
  EXPECT_THROW(server.recv_bytes(50), MessageError);
}

TEST_P(ConnectionTest, TimeoutsAreReported) {
  Listener listener = Listener::any(GetParam(), milliseconds(100));
  EXPECT_THROW(listener.accept(), TimeoutError);
  Connection client = Client(listener.address(), milliseconds(100));
  Connection server = listener.accept();
  try {
    server.recv_bytes();
    ADD_FAILURE() << "no timeout";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("no progress within 100 ms"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ConnectionTest,
                         ::testing::Values(Family::kUnix, Family::kUnixAbstract, Family::kTcp),
                         family_param);

TEST(ListenerTest, UnixSocketFileIsRemovedAfterwards) {
  std::string path;
  {
    Listener listener = Listener::any(Family::kUnix);
    path = listener.address().name;
    EXPECT_TRUE(exists(path));
    // A forked copy that closes its Listener leaves the file to its owner.
    auto child = ChildProcess::fork([&] { listener.close(); });
    ASSERT_TRUE(child.wait_for(kTimeout));
    EXPECT_TRUE(exists(path));
  }
  EXPECT_FALSE(exists(path));
  EXPECT_FALSE(exists(path.substr(0, path.rfind('/'))));  // and its private directory
}

TEST(ListenerTest, ExplicitUnixPathIsRemovedAfterwards) {
  TempDir dir;
  const std::string path = dir.entry("s");
  {
    Listener listener(Address::unix_path(path));
    EXPECT_TRUE(exists(path));
    Connection c = Client(listener.address(), kTimeout);
    Connection s = listener.accept();
    c.send_bytes(pattern(3, 3));
    EXPECT_EQ(s.recv_bytes().size(), 3u);
  }
  EXPECT_FALSE(exists(path));
}

TEST(ListenerTest, ConnectingToNothingFailsWithTheAddress) {
  TempDir dir;
  try {
    Client(Address::unix_path(dir.path() + "/nobody"));
    ADD_FAILURE() << "connected to nothing";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("connect unix:" + dir.path() + "/nobody"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Client(Address::abstract("ipcbench-nobody-" + std::to_string(::getpid()))),
               std::system_error);
}

// Another user (nobody) connects first and sends what would end a set-up server (an empty
// message: 8 zero bytes): it is dropped unheard, and our client is the one served.
class StrangerTest : public ::testing::TestWithParam<Family> {};

TEST_P(StrangerTest, AnotherUsersConnectionIsDroppedAndOursServed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user";
  Listener listener = Listener::any(GetParam(), kTimeout);
  auto stranger = ChildProcess::fork([&] {
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)
      throw_errno("setresuid nobody");
    Client(listener.address(), kTimeout).send_bytes({});
  });
  auto status = stranger.wait_for(kTimeout);
  ASSERT_TRUE(status);
  ASSERT_TRUE(status->ok()) << status->describe();
  Connection mine = Client(listener.address(), kTimeout);
  mine.send_bytes(pattern(5, 1));
  Connection served = listener.accept();
  EXPECT_EQ(served.recv_bytes(), pattern(5, 1));
}

INSTANTIATE_TEST_SUITE_P(Families, StrangerTest,
                         ::testing::Values(Family::kUnixAbstract, Family::kTcp), family_param);

TEST(StrangerTest, AProcessOfOurUserOutsideTheRunIsDroppedFromAnAbstractSocket) {
  Listener listener = Listener::any(Family::kUnixAbstract, kTimeout);
  FdPair done = make_pipe();
  auto middle = ChildProcess::fork([&] {
    const pid_t self = ::getpid();
    const pid_t orphan = ::fork();  // not ChildProcess: it must outlive this process
    if (orphan < 0) throw_errno("fork");
    if (orphan != 0) return;
    while (::getppid() == self) ::usleep(1000);  // reparented: no longer of this run
    try {
      Client(listener.address(), kTimeout).send_bytes({});
    } catch (...) {
    }
    std::byte b{};
    [[maybe_unused]] ssize_t w = ::write(done.write.get(), &b, 1);
    ::_exit(0);
  });
  ASSERT_TRUE(middle.wait_for(kTimeout));
  done.write.reset();
  std::byte b{};
  read_all(done.read.get(), std::span(&b, 1), "orphan");
  Connection mine = Client(listener.address(), kTimeout);
  mine.send_bytes(pattern(3, 2));
  EXPECT_EQ(listener.accept().recv_bytes(), pattern(3, 2));
}

TEST(ListenerTest, BadAddressesAreRejected) {
  EXPECT_THROW(Listener(Address::unix_path(std::string(200, 'x'))), std::invalid_argument);
  EXPECT_THROW(Listener(Address::tcp("localhost", 0)), std::invalid_argument);
  EXPECT_EQ(parse_family("unix-abstract"), Family::kUnixAbstract);
  EXPECT_EQ(parse_family("udp"), std::nullopt);
}

}  // namespace
}  // namespace ipc::connection
