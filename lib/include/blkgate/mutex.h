// blkgate/mutex.h — a mutex, its scoped guard and a condition variable that clang's
// thread-safety analysis understands (blkgate/thread_annotations.h).
//
// Usage:
//   class Queue {
//    public:
//     void Push(int v) EXCLUDES(mu_) {
//       MutexLock lock(&mu_);
//       items_.push_back(v);
//       nonempty_.Signal();
//     }
//     int Pop() EXCLUDES(mu_) {
//       MutexLock lock(&mu_);
//       while (items_.empty()) nonempty_.Wait(&mu_);  // the loop's test is checked too
//       int v = items_.front();
//       items_.pop_front();
//       return v;
//     }
//    private:
//     Mutex mu_;
//     CondVar nonempty_;
//     std::deque<int> items_ GUARDED_BY(mu_);
//   };
//
// Waiting is CondVar::Wait(&mu) in a loop written by the caller, not a wait taking a predicate:
// the analysis checks the loop's condition against GUARDED_BY in the caller's own function,
// whereas a predicate lambda is analysed as a separate function that holds no lock.
//
// Mutex is not recursive. Every function here is safe to call from any thread; the queue threads
// of the data path take no lock at all (blkgate/gate.h), this is for the control plane.
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "blkgate/thread_annotations.h"

namespace blkgate {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() {
    mu_.lock();
    SetOwner();
  }
  void Unlock() RELEASE() {
    ClearOwner();
    mu_.unlock();
  }
  // True (and held) when the mutex was free; never blocks.
  bool TryLock() TRY_ACQUIRE(true) {
    if (!mu_.try_lock()) return false;
    SetOwner();
    return true;
  }

  // Tells the analysis that the calling thread holds the mutex, where it cannot see that (e.g. a
  // callback run under a lock taken by its caller). Checked by assert() when NDEBUG is unset.
  void AssertHeld() const ASSERT_CAPABILITY(this) {
    assert(owner_.load(std::memory_order_relaxed) == std::this_thread::get_id());
  }

 private:
  friend class CondVar;
  // The owner is only compared with the calling thread's id, which nobody else stores, so
  // relaxed ordering suffices: a thread always sees its own last store.
  void SetOwner() { owner_.store(std::this_thread::get_id(), std::memory_order_relaxed); }
  void ClearOwner() { owner_.store(std::thread::id(), std::memory_order_relaxed); }

  std::mutex mu_;
  std::atomic<std::thread::id> owner_{};
};

// Holds a Mutex for its scope: MutexLock lock(&mu_);
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable used with a Mutex. Wait() may return spuriously: always wait in a loop
// that tests the condition (see the top of this file).
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu, waits for a Signal(), SignalAll() (or a spurious wake-up), then holds *mu
  // again before returning.
  void Wait(Mutex* mu) REQUIRES(mu) {
    WaitWith(mu, [this](std::unique_lock<std::mutex>& lock) {
      cv_.wait(lock);
      return true;
    });
  }
  // Like Wait(), but returns false without a wake-up once the steady clock reaches deadline.
  bool WaitUntil(Mutex* mu, std::chrono::steady_clock::time_point deadline) REQUIRES(mu) {
    return WaitWith(mu, [this, deadline](std::unique_lock<std::mutex>& lock) {
      return cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    });
  }

  // Wakes one waiter / every waiter. The mutex need not be held.
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  // Runs wait(lock) on *mu's std::mutex, which the caller holds throughout as far as it (and
  // the analysis) can tell; the owner is cleared while the std::condition_variable has it
  // unlocked.
  template <typename WaitFn>
  static bool WaitWith(Mutex* mu, WaitFn wait) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    mu->ClearOwner();
    const bool woken = wait(lock);
    mu->SetOwner();
    lock.release();  // still locked: the caller's MutexLock unlocks it
    return woken;
  }

  std::condition_variable cv_;
};

}  // namespace blkgate
