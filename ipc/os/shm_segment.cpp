#include "ipc/os/shm_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "ipc/core/error.hpp"
#include "ipc/os/unique_fd.hpp"

namespace ipc {
namespace {

void* map_shared(int fd, std::size_t size, const std::string& name) {
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (addr == MAP_FAILED) throw_errno("mmap " + name);
  return addr;
}

}  // namespace

void require_shm_space(std::size_t bytes, const std::string& what) {
  struct statvfs fs;
  if (::statvfs("/dev/shm", &fs) != 0) return;  // no /dev/shm to check: shm_open will say
  if (fs.f_blocks == 0) return;                 // tmpfs without a size limit
  const auto free_bytes = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes >= bytes) return;
  throw_system_error(ENOSPC, what + ": /dev/shm has " + std::to_string(free_bytes) +
                                 " bytes free, " + std::to_string(bytes) + " needed");
}

void reserve_shm(const std::string& name) {
  UniqueFd fd(::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (!fd) throw_errno("shm_open " + name);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat " + name);
  if (int err = ::posix_fallocate(fd.get(), 0, st.st_size); err != 0)
    throw_system_error(err,
                       "posix_fallocate " + name + " (" + std::to_string(st.st_size) + " bytes)");
}

ShmSegment::ShmSegment(std::string name, void* addr, std::size_t size, bool owns)
    : name_(std::move(name)), addr_(addr), size_(size), owns_(owns), owner_pid_(::getpid()) {}

ShmSegment ShmSegment::create(const std::string& name, std::size_t size) {
  UniqueFd fd(::shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw_errno("shm_open " + name);
  // From here on the name exists: remove it again if anything below fails.
  ShmSegment seg(name, nullptr, 0, true);
  if (int err = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(size)); err != 0)
    throw_system_error(err, "posix_fallocate " + name + " (" + std::to_string(size) + " bytes)");
  seg.addr_ = map_shared(fd.get(), size, name);
  seg.size_ = size;
  return seg;
}

ShmSegment ShmSegment::open(const std::string& name) {
  UniqueFd fd(::shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0));
  if (!fd) throw_errno("shm_open " + name);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) throw_errno("fstat " + name);
  auto size = static_cast<std::size_t>(st.st_size);
  return ShmSegment(name, map_shared(fd.get(), size, name), size, false);
}

ShmSegment::ShmSegment(ShmSegment&& other) noexcept
    : name_(std::move(other.name_)),
      addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      owns_(std::exchange(other.owns_, false)),
      owner_pid_(other.owner_pid_) {}

ShmSegment::~ShmSegment() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  unlink();
}

void ShmSegment::unlink() noexcept {
  if (!owns_ || ::getpid() != owner_pid_) return;
  owns_ = false;
  if (::shm_unlink(name_.c_str()) != 0 && errno != ENOENT)
    std::fprintf(stderr, "ipcbench: shm_unlink %s: %s\n", name_.c_str(), std::strerror(errno));
}

}  // namespace ipc
