#include "ipc/os/abandoned_lock.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "ipc/os/child_process.hpp"
#include "tests/test_support.hpp"

namespace ipc {
namespace {

using std::chrono::milliseconds;

// A process-shared mutex and condition variable in a shared anonymous mapping, as
// Boost.Interprocess makes them (process-shared, default kind), shared with forked children.
class SharedLocks {
 public:
  SharedLocks() {
    void* p = ::mmap(nullptr, sizeof(Locks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap");
    locks_ = static_cast<Locks*>(p);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&locks_->mutex, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_cond_init(&locks_->cond, &ca);
    pthread_condattr_destroy(&ca);
  }
  ~SharedLocks() { ::munmap(locks_, sizeof(Locks)); }
  pthread_mutex_t& mutex() { return locks_->mutex; }
  pthread_cond_t& cond() { return locks_->cond; }

 private:
  struct Locks {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
  };
  Locks* locks_;
};

// A child that takes the mutex and dies holding it (as a SIGKILLed peer inside Boost's
// message_queue).
void die_holding(pthread_mutex_t& m) {
  auto child = ChildProcess::fork([&] {
    pthread_mutex_lock(&m);
    ::raise(SIGKILL);
  });
  auto status = child.wait_for(milliseconds(5000));
  ASSERT_TRUE(status);
  ASSERT_EQ(status->code, SIGKILL);
}

TEST(AbandonedLockTest, AMutexADeadProcessHeldIsFreedAndAWaiterGetsIt) {
  SharedLocks locks;
  die_holding(locks.mutex());
  ASSERT_EQ(pthread_mutex_trylock(&locks.mutex()), EBUSY);
  // A thread of ours already waits on it, as ipcbench's main thread did for ever.
  auto waiter = std::async(std::launch::async, [&] {
    pthread_mutex_lock(&locks.mutex());
    pthread_mutex_unlock(&locks.mutex());
  });
  EXPECT_EQ(waiter.wait_for(milliseconds(50)), std::future_status::timeout);
  ASSERT_TRUE(mutex_abandoned(locks.mutex()));
  release_abandoned_mutex(locks.mutex());
  EXPECT_EQ(waiter.wait_for(milliseconds(5000)), std::future_status::ready);
  // And it works as a mutex again.
  EXPECT_EQ(pthread_mutex_trylock(&locks.mutex()), 0);
  EXPECT_FALSE(mutex_abandoned(locks.mutex()));  // ours now
  EXPECT_EQ(pthread_mutex_unlock(&locks.mutex()), 0);
}

TEST(AbandonedLockTest, AMutexThatIsFreeOrOursIsLeftAlone) {
  SharedLocks locks;
  EXPECT_FALSE(mutex_abandoned(locks.mutex()));
  std::promise<void> locked, release;
  auto holder = std::async(std::launch::async, [&] {
    pthread_mutex_lock(&locks.mutex());
    locked.set_value();
    release.get_future().wait();
    pthread_mutex_unlock(&locks.mutex());
  });
  locked.get_future().wait();
  EXPECT_FALSE(mutex_abandoned(locks.mutex()));  // another thread of ours holds it
  release.set_value();
  holder.get();
}

TEST(AbandonedLockTest, ARobustMutexIsNotTouched) {
  SharedLocks locks;
  pthread_mutexattr_t ma;
  pthread_mutexattr_init(&ma);
  pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_destroy(&locks.mutex());
  pthread_mutex_init(&locks.mutex(), &ma);
  pthread_mutexattr_destroy(&ma);
  die_holding(locks.mutex());
  EXPECT_FALSE(mutex_abandoned(locks.mutex()));  // the kernel and glibc handle that kind
}

TEST(AbandonedLockTest, AConditionVariableLockHeldForLongIsFreed) {
  SharedLocks locks;
  EXPECT_FALSE(cond_lock_abandoned(locks.cond()));
  // What a process killed inside pthread_cond_signal leaves: the internal lock taken.
  std::atomic_ref<unsigned>(locks.cond().__data.__g1_orig_size).fetch_or(1);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(cond_lock_abandoned(locks.cond()));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(5));
  release_abandoned_cond_lock(locks.cond());
  EXPECT_FALSE(cond_lock_abandoned(locks.cond()));
  // Usable again: a timed wait times out instead of blocking on the internal lock.
  pthread_mutex_lock(&locks.mutex());
  timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += 10'000'000;
  if (until.tv_nsec >= 1'000'000'000) {
    until.tv_nsec -= 1'000'000'000;
    ++until.tv_sec;
  }
  EXPECT_EQ(pthread_cond_timedwait(&locks.cond(), &locks.mutex(), &until), ETIMEDOUT);
  pthread_mutex_unlock(&locks.mutex());
}

}  // namespace
}  // namespace ipc
