// Every named object a transport or fixture makes is its owner's alone (mode 0600, a
// directory 0700), whatever the umask: no other local user reads or writes our messages.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/fixtures/shm_dict.hpp"
#include "ipc/os/names.hpp"
#include "ipc/transports/registry.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

// "<path>: mode 0644" for each entry of this run in /dev/shm, /tmp and /dev/mqueue, and each
// System V queue of ours, that anyone but its owner may use.
std::vector<std::string> shared_objects() {
  std::vector<std::string> out;
  const std::string prefix = run_prefix();
  for (const char* dir : {"/dev/shm", "/tmp", "/dev/mqueue"}) {
    DIR* d = ::opendir(dir);
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) != 0) continue;
      const std::string path = std::string(dir) + "/" + e->d_name;
      struct stat st;
      if (::lstat(path.c_str(), &st) != 0) continue;
      if ((st.st_mode & 077) != 0 || st.st_uid != ::geteuid()) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
        out.push_back(path + ": mode " + mode);
      }
    }
    ::closedir(d);
  }
  for (const std::string& key : ipc_test::our_sysv_queues()) {
    const int id = ::msgget(static_cast<key_t>(std::stoul(key.substr(6), nullptr, 16)), 0);
    msqid_ds ds{};
    if (id >= 0 && ::msgctl(id, IPC_STAT, &ds) == 0 && (ds.msg_perm.mode & 077) != 0)
      out.push_back(key + ": mode " + std::to_string(ds.msg_perm.mode & 0777));
  }
  return out;
}

// With no umask to narrow what a create call asks for.
class PrivateObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override { old_ = ::umask(0); }
  void TearDown() override { ::umask(old_); }

 private:
  mode_t old_ = 0;
};

TEST_F(PrivateObjectsTest, EveryTransportsNamedObjectsAreTheOwnersAlone) {
  for (const TransportInfo& t : transports()) {
    // iceoryx's RouDi is a machine-wide daemon with a lock of its own: its segments are
    // iceoryx's (group access by design), and starting it here would wait for other runs.
    if (std::string_view(t.name).rfind("iceoryx", 0) == 0) continue;
    Channel channel = t.make(Options{});
    EXPECT_EQ(shared_objects(), std::vector<std::string>{}) << t.name;
    if (t.listen != nullptr) {
      std::unique_ptr<Listener> listener = t.listen(Options{});
      EXPECT_EQ(shared_objects(), std::vector<std::string>{}) << t.name << " (listener)";
    }
  }
}

TEST_F(PrivateObjectsTest, TheSharedMemoryDictionaryIsTheOwnersAlone) {
  ShmDict dict = ShmDict::create(unique_shm_name(), 100);
  EXPECT_EQ(shared_objects(), std::vector<std::string>{});
}

TEST_F(PrivateObjectsTest, ATempDirAndItsManifestAreTheOwnersAlone) {
  TempDir dir;
  struct stat st;
  ASSERT_EQ(::stat(dir.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((dir.path() + "/" + kManifestName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace ipc
