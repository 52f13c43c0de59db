// The shared-dictionary pieces: verified values, ShmDict across fork (and its name gone
// afterwards), the manager server (unknown keys, several clients, death mid-request),
// and run_group.
#include "ipc/fixtures/dict.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/fixtures/dict_server.hpp"
#include "ipc/fixtures/shm_dict.hpp"
#include "ipc/os/child_process.hpp"
#include "ipc/os/names.hpp"
#include "ipc/run/group.hpp"
#include "ipc/transports/pipe.hpp"
#include "ipc/transports/registry.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kTimeout(10'000);

bool shm_exists(const std::string& name) {
  struct stat st;
  return ::stat(("/dev/shm" + name).c_str(), &st) == 0;
}

std::string what_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(DictValueTest, EncodesItsKeyAndChecksum) {
  EXPECT_EQ(dict_key(42), "key-00042");
  EXPECT_EQ(dict_key(123456), "key-123456");
  DictValue v = dict_value(42);
  EXPECT_NO_THROW(check_dict_value(v, 42));
  EXPECT_EQ(what_of([&] { check_dict_value(v, 43); }),
            "dict value for key-00043: holds the value of key index 42");
  v[20] ^= std::byte{1};
  EXPECT_EQ(what_of([&] { check_dict_value(v, 42); }),
            "dict value for key-00042: checksum mismatch (corrupted)");
  EXPECT_THROW(check_dict_value(std::span(v).first(10), 42), MessageError);
}

TEST(ShmDictTest, ForkedReaderSeesWhatTheParentWrote) {
  ShmDict dict = ShmDict::create(unique_shm_name(), 1000);
  for (std::size_t i = 0; i < 100; ++i) dict.insert(dict_key(i), dict_value(i));
  EXPECT_EQ(dict.size(), 100u);
  auto child = ChildProcess::fork([&] {
    // Opened by name, as an unrelated process would; then waits for what the parent
    // writes after the fork.
    ShmDict mine = ShmDict::open(dict.name());
    DictValue v;
    for (std::size_t i = 0; i < 100; ++i) {
      if (!mine.lookup(dict_key(i), v)) throw std::runtime_error("missing " + dict_key(i));
      check_dict_value(v, i);
    }
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (!mine.lookup(dict_key(100), v)) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("never saw key-00100");
      std::this_thread::sleep_for(milliseconds(1));
    }
    check_dict_value(v, 100);
    // The inherited mapping sees the same data.
    if (!dict.lookup(dict_key(100), v)) throw std::runtime_error("inherited mapping differs");
    if (mine.lookup("no-such-key", v)) throw std::runtime_error("found a missing key");
  });
  dict.insert(dict_key(100), dict_value(100));
  auto status = child.wait_for(kTimeout);
  ASSERT_TRUE(status);
  EXPECT_TRUE(status->ok()) << status->describe();
}

TEST(ShmDictTest, SegmentIsRemovedAfterwardsAndOnlyByItsOwner) {
  std::string name = unique_shm_name();
  {
    ShmDict dict = ShmDict::create(name, 10);
    EXPECT_TRUE(shm_exists(name));
    auto child = ChildProcess::fork([&] { dict.unlink(); });  // a forked copy: no effect
    ASSERT_TRUE(child.wait_for(kTimeout));
    EXPECT_TRUE(shm_exists(name));
  }
  EXPECT_FALSE(shm_exists(name));
  {
    ShmDict dict = ShmDict::create(name, 10);
    dict.insert("k", dict_value(7));
    dict.unlink();  // early removal: the mapping stays usable
    EXPECT_FALSE(shm_exists(name));
    DictValue v;
    ASSERT_TRUE(dict.lookup("k", v));
    check_dict_value(v, 7);
  }
}

TEST(ShmDictTest, OpenAndCreateErrorsNameTheSegment) {
  std::string name = unique_shm_name();
  EXPECT_NE(what_of([&] { ShmDict::open(name); }).find("open shm dict " + name), std::string::npos);
  ShmDict dict = ShmDict::create(name, 10);
  EXPECT_NE(what_of([&] { ShmDict::create(name, 10); }).find("create shm dict " + name),
            std::string::npos);
}

TEST(ShmDictTest, ReadersAndAWriterInThreads) {
  ShmDict dict = ShmDict::create(unique_shm_name(), 1000);
  for (std::size_t i = 0; i < 500; ++i) dict.insert(dict_key(i), dict_value(i));
  dict.unlink();
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      DictValue v;
      for (std::size_t i = 0; i < 5000; ++i) {
        std::size_t k = i % 500;
        if (!dict.lookup(dict_key(k), v)) ++failures;
        try {
          check_dict_value(v, k);
        } catch (const MessageError&) {
          ++failures;
        }
      }
    });
  for (std::size_t i = 500; i < 1000; ++i) dict.insert(dict_key(i), dict_value(i));
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dict.size(), 1000u);
}

TEST(DictServerTest, UnknownKeyAndSeveralClients) {
  const Dict dict = make_dict(1000);
  std::vector<Channel> channels;
  std::vector<Transport*> server_ends;
  for (int i = 0; i < 3; ++i) {
    channels.push_back(make_pipe_channel({}));
    server_ends.push_back(channels.back().b.get());
  }
  std::string error;
  std::thread server([&] { error = what_of([&] { serve_dict(dict, server_ends); }); });
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      DictClient client(*channels[c].a);
      for (std::size_t i = 0; i < 1000; i += 7) {
        std::optional<DictValue> v = client.get(dict_key(i));
        if (!v) {
          ++failures;
          continue;
        }
        check_dict_value(*v, i);
      }
      if (client.get("no-such-key")) ++failures;
      if (client.get(dict_key(1000))) ++failures;
      client.stop();
    });
  for (std::thread& t : clients) t.join();
  server.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(error, "");
}

TEST(DictServerTest, OversizedKeyIsRejectedByTheClient) {
  Channel ch = make_pipe_channel({});
  DictClient client(*ch.a);
  EXPECT_THROW(client.get(std::string(300, 'k')), std::invalid_argument);
  EXPECT_THROW(client.get(""), std::invalid_argument);
}

// Every cross-process transport: a server process that dies mid-request is reported,
// quickly, with the cause.
class ServerDeathTest : public ::testing::TestWithParam<const TransportInfo*> {};

TEST_P(ServerDeathTest, ServerDeathMidRequestIsReportedWithinTheTimeout) {
#if defined(__SANITIZE_THREAD__)
  // Under TSan a ZeroMQ or nng connection can take longer than 500 ms to carry its first
  // request on a busy machine, which the watchdog would report as a hang.
  constexpr milliseconds kShort(1500);
#else
  constexpr milliseconds kShort(500);
#endif
  Options options;
  options.timeout = 2 * kShort;
  const Dict dict = make_dict(10);
  Channel channel = GetParam()->make(options);  // not timed: e.g. iceoryx starts its RouDi
  auto start = std::chrono::steady_clock::now();
  std::string what = what_of([&] {
    run_pair(
        Context::kProcess, std::move(channel),
        [&](Transport& t) {
          std::byte request[kMaxDictKey];
          std::size_t n = t.recv(request);  // the first request is answered...
          DictValue v = dict.at(std::string(reinterpret_cast<char*>(request), n));
          std::byte reply[1 + kDictValueBytes]{std::byte{1}};
          std::memcpy(reply + 1, v.data(), v.size());
          t.send(reply);
          t.recv(request);  // ...the second kills the server before it replies
          ::raise(SIGKILL);
        },
        [&](Transport& t, Heartbeat& h) {
          DictClient client(t);
          ASSERT_TRUE(client.get(dict_key(1)));
          h.beat();
          client.get(dict_key(2));
        },
        {.timeout = kShort});
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3 * kShort + milliseconds(500)) << what;
  EXPECT_NE(what.find("killed by signal 9"), std::string::npos) << what;
}

std::vector<const TransportInfo*> cross_process_transports() {
  std::vector<const TransportInfo*> out;
  for (const TransportInfo& t : transports())
    if (t.cross_process) out.push_back(&t);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Transports, ServerDeathTest,
                         ::testing::ValuesIn(cross_process_transports()), [](const auto& info) {
                           std::string name(info.param->name);
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

class GroupTest : public ::testing::TestWithParam<Context> {};

TEST_P(GroupTest, EveryPeerRunsAndAFailureIsReported) {
  std::vector<Channel> channels;
  for (int i = 0; i < 3; ++i) channels.push_back(make_pipe_channel({}));
  std::uint64_t sum = 0;
  EXPECT_NO_THROW(run_group(
      GetParam(), std::move(channels),
      [](std::size_t i, Transport& t) {
        std::uint64_t v = 10 * (i + 1);
        t.send(std::as_bytes(std::span(&v, 1)));
      },
      [&](std::span<Transport* const> ends, const std::function<void()>& beat) {
        for (Transport* t : ends) {
          std::uint64_t v = 0;
          t->recv(std::as_writable_bytes(std::span(&v, 1)));
          sum += v;
        }
        beat();
      },
      {.timeout = kTimeout}));
  EXPECT_EQ(sum, 60u);

  channels.clear();
  for (int i = 0; i < 3; ++i) channels.push_back(make_pipe_channel({}));
  std::string what = what_of([&] {
    run_group(
        GetParam(), std::move(channels),
        [](std::size_t i, Transport& t) {
          if (i == 1) throw std::runtime_error("reader 1 broke");
          std::byte b[1];
          t.recv(b);
        },
        [&](std::span<Transport* const> ends, const std::function<void()>&) {
          std::byte b[1]{};
          ends[0]->send(b);
          ends[2]->send(b);
          ends[1]->recv(b);
        },
        {.timeout = kTimeout});
  });
  EXPECT_NE(what.find("reader 1 broke"), std::string::npos) << what;
}

TEST(ProcessGroupTest, DeathAndHangAreReportedQuickly) {
  constexpr milliseconds kShort(300);
  auto channels = [] {
    std::vector<Channel> c;
    for (int i = 0; i < 3; ++i) c.push_back(make_pipe_channel({}));
    return c;
  };
  auto start = std::chrono::steady_clock::now();
  std::string what = what_of([&] {
    run_group(
        Context::kProcess, channels(),
        [](std::size_t i, Transport& t) {
          if (i == 1) ::raise(SIGKILL);
          std::byte b[1];
          t.recv(b);
        },
        [](std::span<Transport* const> ends, const std::function<void()>&) {
          std::byte b[1];
          ends[1]->recv(b);
        },
        {.timeout = kShort});
  });
  EXPECT_EQ(what, "peer process killed by signal 9 (Killed)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3 * kShort);

  start = std::chrono::steady_clock::now();
  what = what_of([&] {
    run_group(
        Context::kProcess, channels(),
        [](std::size_t, Transport& t) {
          std::byte b[1];
          t.recv(b);  // nobody ever sends
        },
        [](std::span<Transport* const> ends, const std::function<void()>&) {
          std::byte b[1];
          ends[2]->recv(b);
        },
        {.timeout = kShort});
  });
  EXPECT_EQ(what, "no progress within 300 ms: peer hung (peer processes killed)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4 * kShort);
}

INSTANTIATE_TEST_SUITE_P(Contexts, GroupTest,
                         ::testing::Values(Context::kThread, Context::kProcess),
                         [](const auto& info) { return std::string(context_name(info.param)); });

}  // namespace
}  // namespace ipc
