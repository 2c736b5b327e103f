// blkgate::Mutex, MutexLock and CondVar. Not lock-free, but run under TSan too (tag [mutex]),
// which checks that the wrappers order memory like the std::mutex they wrap. Under clang the
// annotations below are checked at compile time (tests/run-all's clang step).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "blkgate/mutex.h"

using blkgate::CondVar;
using blkgate::Mutex;
using blkgate::MutexLock;
using namespace std::chrono_literals;

namespace {

class Counter {
 public:
  void Add(int n) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    AddLocked(n);
  }
  int Get() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    return value_;
  }
  // A caller that holds the lock in a way the analysis cannot follow asserts it.
  void AddWithLockTakenByHand(int n) EXCLUDES(mu_) {
    mu_.Lock();
    mu_.AssertHeld();
    AddLocked(n);
    mu_.Unlock();
  }

 private:
  void AddLocked(int n) REQUIRES(mu_) { value_ += n; }

  Mutex mu_;
  int value_ GUARDED_BY(mu_) = 0;
};

// One value handed from a producer to a consumer.
class Slot {
 public:
  void Put(int v) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    value_ = v;
    full_ = true;
    changed_.Signal();
  }
  int Take() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (!full_) changed_.Wait(&mu_);
    full_ = false;
    return value_;
  }
  // false when nothing was put before the deadline.
  bool TakeBefore(std::chrono::steady_clock::time_point deadline, int* out) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    while (!full_)
      if (!changed_.WaitUntil(&mu_, deadline)) return false;
    full_ = false;
    *out = value_;
    return true;
  }

 private:
  Mutex mu_;
  CondVar changed_;
  bool full_ GUARDED_BY(mu_) = false;
  int value_ GUARDED_BY(mu_) = 0;
};

}  // namespace

TEST_CASE("MutexLock makes increments from two threads exclusive", "[mutex]") {
  constexpr int kPerThread = 20000;
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&c, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (t == 0)
          c.Add(1);
        else
          c.AddWithLockTakenByHand(1);
      }
    });
  for (auto& th : threads) th.join();
  REQUIRE(c.Get() == 2 * kPerThread);
}

TEST_CASE("Mutex::TryLock fails while another thread holds the mutex", "[mutex]") {
  Mutex mu;
  auto try_lock_elsewhere = [&mu] {
    bool got = false;
    std::thread([&] {
      if (mu.TryLock()) {
        got = true;
        mu.Unlock();
      }
    }).join();
    return got;
  };
  mu.Lock();
  mu.AssertHeld();
  REQUIRE_FALSE(try_lock_elsewhere());
  mu.Unlock();
  REQUIRE(try_lock_elsewhere());
  const bool got = mu.TryLock();
  REQUIRE(got);
  if (got) mu.Unlock();
}

TEST_CASE("CondVar::Wait hands values from a producer to a consumer", "[mutex]") {
  constexpr int kValues = 200;
  Slot to_consumer, to_producer;  // ping-pong: each Put is answered before the next
  std::thread consumer([&] {
    for (int i = 0; i < kValues; ++i) to_producer.Put(to_consumer.Take() * 2);
  });
  int sum = 0;
  for (int i = 0; i < kValues; ++i) {
    to_consumer.Put(i);
    sum += to_producer.Take();
  }
  consumer.join();
  REQUIRE(sum == kValues * (kValues - 1));
}

TEST_CASE("CondVar::WaitUntil returns false at the deadline, true when signalled", "[mutex]") {
  Slot slot;
  int v = 0;
  const auto start = std::chrono::steady_clock::now();
  REQUIRE_FALSE(slot.TakeBefore(start + 20ms, &v));
  REQUIRE(std::chrono::steady_clock::now() - start >= 20ms);

  std::thread producer([&] {
    std::this_thread::sleep_for(10ms);
    slot.Put(7);
  });
  const bool taken = slot.TakeBefore(std::chrono::steady_clock::now() + 60s, &v);
  producer.join();
  REQUIRE(taken);
  REQUIRE(v == 7);
}
