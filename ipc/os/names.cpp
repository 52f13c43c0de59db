#include "ipc/os/names.hpp"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "ipc/core/error.hpp"
#include "ipc/os/interrupt.hpp"

namespace ipc {
namespace {

// An interrupted run is removing its names: hand out no new ones.
void refuse_if_interrupted(const char* what) {
  if (interrupted()) throw std::runtime_error(std::string(what) + ": the run is being interrupted");
}

}  // namespace

std::string unique_shm_name() {
  refuse_if_interrupted("unique_shm_name");
  static std::atomic<unsigned> counter{0};
  return "/ipcbench-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

TempDir::TempDir() : owner_pid_(::getpid()) {
  refuse_if_interrupted("TempDir");
  std::string tmpl = "/tmp/ipcbench-" + std::to_string(owner_pid_) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (::getpid() != owner_pid_) return;
  if (DIR* dir = ::opendir(path_.c_str())) {
    while (dirent* e = ::readdir(dir)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      ::unlink((path_ + "/" + e->d_name).c_str());
    }
    ::closedir(dir);
  }
  if (::rmdir(path_.c_str()) != 0)
    std::fprintf(stderr, "ipcbench: cannot remove %s: %s\n", path_.c_str(), std::strerror(errno));
}

namespace {
std::mutex g_lifetime_mutex;
std::vector<std::string> g_lifetime_names;
std::vector<pid_t> g_lifetime_children;
}  // namespace

void add_process_lifetime_child(pid_t pid) {
  std::lock_guard lock(g_lifetime_mutex);
  g_lifetime_children.push_back(pid);
}

std::vector<pid_t> process_lifetime_children() {
  std::lock_guard lock(g_lifetime_mutex);
  return g_lifetime_children;
}

void add_process_lifetime_name(std::string path) {
  std::lock_guard lock(g_lifetime_mutex);
  g_lifetime_names.push_back(std::move(path));
}

std::vector<std::string> process_lifetime_names() {
  std::lock_guard lock(g_lifetime_mutex);
  return g_lifetime_names;
}

}  // namespace ipc
