#include "ipc/shm_dict.hpp"

#include <unistd.h>

#include <boost/container/string.hpp>
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_sharable_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#include <boost/interprocess/sync/sharable_lock.hpp>
#include <boost/unordered_map.hpp>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace ipc {
namespace {

namespace bip = boost::interprocess;
using Segment = bip::managed_shared_memory;
using SegmentManager = Segment::segment_manager;
using ShmString = boost::container::basic_string<char, std::char_traits<char>,
                                                 bip::allocator<char, SegmentManager>>;

// Hash and equality that take a std::string_view as well, so a lookup needs no string
// in shared memory (Boost.Unordered's find(key, hash, eq) "compatible key" overload).
struct KeyHash {
  std::size_t operator()(std::string_view s) const noexcept { return StringHash{}(s); }
  std::size_t operator()(const ShmString& s) const noexcept {
    return StringHash{}(std::string_view(s.data(), s.size()));
  }
};

struct KeyEq {
  static std::string_view view(const ShmString& s) noexcept { return {s.data(), s.size()}; }
  static std::string_view view(std::string_view s) noexcept { return s; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return view(a) == view(b);
  }
};

using Entry = std::pair<const ShmString, DictValue>;
using Map = boost::unordered_map<ShmString, DictValue, KeyHash, KeyEq,
                                 bip::allocator<Entry, SegmentManager>>;
using Mutex = bip::interprocess_sharable_mutex;

constexpr const char* kMapName = "dict";
constexpr const char* kMutexName = "lock";

// Boost's what() carries only the system text: add the segment's name.
template <typename Op>
auto with_name(const std::string& name, const char* what, Op op) {
  try {
    return op();
  } catch (const bip::interprocess_exception& e) {
    throw std::runtime_error(std::string(what) + " shm dict " + name + ": " + e.what());
  }
}

}  // namespace

struct ShmDict::Impl {
  std::string name;
  Segment segment;
  Map* map = nullptr;
  Mutex* mutex = nullptr;
  bool owns = false;
  pid_t owner_pid = 0;
};

ShmDict::ShmDict(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ShmDict::ShmDict(ShmDict&&) noexcept = default;

ShmDict::~ShmDict() {
  if (impl_) unlink();
}

ShmDict ShmDict::create(const std::string& name, std::size_t capacity) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  // A node holds the key (short keys fit the string in place), 64 bytes of value, links
  // and the allocator's header: 256 bytes an entry is ample.
  const std::size_t bytes = (1 << 20) + capacity * 256;
  with_name(name, "create", [&] {
    impl->segment = Segment(bip::create_only, name.c_str(), bytes);
    impl->owns = true;
    impl->owner_pid = ::getpid();
    impl->mutex = impl->segment.construct<Mutex>(kMutexName)();
    impl->map = impl->segment.construct<Map>(kMapName)(
        capacity, KeyHash(), KeyEq(), impl->segment.get_allocator<Entry>());
    return 0;
  });
  return ShmDict(std::move(impl));
}

ShmDict ShmDict::open(const std::string& name) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  with_name(name, "open", [&] {
    impl->segment = Segment(bip::open_only, name.c_str());
    impl->mutex = impl->segment.find<Mutex>(kMutexName).first;
    impl->map = impl->segment.find<Map>(kMapName).first;
    return 0;
  });
  if (impl->map == nullptr || impl->mutex == nullptr)
    throw std::runtime_error("open shm dict " + name + ": not a dictionary segment");
  return ShmDict(std::move(impl));
}

void ShmDict::insert(std::string_view key, const DictValue& value) {
  with_name(impl_->name, "insert into", [&] {
    bip::scoped_lock<Mutex> lock(*impl_->mutex);
    auto it = impl_->map->find(key, KeyHash(), KeyEq());
    if (it != impl_->map->end()) {
      it->second = value;
    } else {
      ShmString k(key.data(), key.size(), impl_->segment.get_allocator<char>());
      impl_->map->emplace(std::move(k), value);
    }
    return 0;
  });
}

bool ShmDict::lookup(std::string_view key, DictValue& out) const {
  bip::sharable_lock<Mutex> lock(*impl_->mutex);
  auto it = impl_->map->find(key, KeyHash(), KeyEq());
  if (it == impl_->map->end()) return false;
  out = it->second;
  return true;
}

std::size_t ShmDict::size() const {
  bip::sharable_lock<Mutex> lock(*impl_->mutex);
  return impl_->map->size();
}

const std::string& ShmDict::name() const noexcept { return impl_->name; }

void ShmDict::unlink() noexcept {
  if (!impl_->owns || impl_->owner_pid != ::getpid()) return;
  impl_->owns = false;
  if (!bip::shared_memory_object::remove(impl_->name.c_str()))
    std::fprintf(stderr, "ipcbench: cannot remove shm dict %s\n", impl_->name.c_str());
}

}  // namespace ipc
