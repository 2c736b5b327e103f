#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "blkgate/gate.h"

using namespace blkgate::gate;

TEST_CASE("decide: offline, read-only and per-drive verdicts") {
  REQUIRE(decide(0, OpClass::read, 0, 15) == 0);
  REQUIRE(decide(kOffline, OpClass::flush, 0, 0) == -ENODEV);
  REQUIRE(decide(kOffline | kReadOnly, OpClass::read, 0, 0) == -ENODEV);
  REQUIRE(decide(kReadOnly, OpClass::write, 0, 0) == -EROFS);
  REQUIRE(decide(kReadOnly, OpClass::flush, 0, 0) == 0);
  std::uint64_t w = segment_bits(3, DriveBits::offline) | segment_bits(1, DriveBits::not_ready);
  REQUIRE(decide(w, OpClass::read, 0, 0) == 0);
  REQUIRE(decide(w, OpClass::read, 1, 1) == kPark);
  REQUIRE(decide(w, OpClass::read, 1, 3) == -ENODEV);
  w |= segment_bits(2, DriveBits::failed);
  REQUIRE(decide(w, OpClass::write, 1, 2) == -EIO);  // failed beats not-ready
  REQUIRE(decide(segment_bits(15, DriveBits::failed), OpClass::read, 15, 15) == -EIO);
  REQUIRE(segment_status(w, 3) == DriveBits::offline);
  REQUIRE(segment_status(w, 0) == DriveBits::ok);
}

TEST_CASE("QueueSync and GateWord live on their own cache lines", "[lockfree]") {
  REQUIRE(alignof(QueueSync) == 64);
  REQUIRE(alignof(GateWord) == 64);
  QueueSync qs[2];
  REQUIRE(reinterpret_cast<std::uintptr_t>(&qs[1]) - reinterpret_cast<std::uintptr_t>(&qs[0]) >=
          64);
}

TEST_CASE("after publish + synchronize no queue admits a request under the old word",
          "[lockfree]") {
  // Queue threads admit "requests" in batches like the ublk loop does; each admitted one starts
  // a fake backing I/O that completes a little later. After synchronize() returns, no request
  // may be admitted and no I/O may be in flight.
  constexpr int kQueues = 2;
  GateWord g;
  QueueSync syncs[kQueues];
  std::atomic<bool> stop{false};
  std::atomic<unsigned> epoch{0};  // odd while an offline is known to be complete
  std::atomic<long> admitted_after{0};
  std::vector<std::thread> threads;
  for (int q = 0; q < kQueues; ++q) {
    threads.emplace_back([&, q] {
      QueueSync& s = syncs[q];
      std::uint32_t pending = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        s.enter();
        if (pending) {  // complete the I/O of the previous batch
          s.io_done(pending);
          pending = 0;
        }
        for (int i = 0; i < 8; ++i) {
          unsigned e1 = epoch.load(std::memory_order_acquire);
          if (decide(g.load(), OpClass::write, 0, 0) == 0) {
            s.io_started();
            ++pending;
            unsigned e2 = epoch.load(std::memory_order_acquire);
            if (e1 == e2 && (e1 & 1)) admitted_after.fetch_add(1);  // wholly inside offline
          }
        }
        s.leave();
        if (q == 1) std::this_thread::yield();  // one busy queue, one that idles
      }
      if (pending) s.io_done(pending);
    });
  }
  QueueSync* ptrs[kQueues] = {&syncs[0], &syncs[1]};
  for (int round = 0; round < 200; ++round) {
    publish(g, kOffline);
    synchronize(ptrs);
    epoch.fetch_add(1, std::memory_order_acq_rel);  // odd: offline complete
    for (auto& s : syncs) REQUIRE(s.inflight.load() == 0);
    std::this_thread::yield();
    epoch.fetch_add(1, std::memory_order_acq_rel);  // even: about to go online
    publish(g, 0);
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : threads) t.join();
  REQUIRE(admitted_after.load() == 0);
}

TEST_CASE("an idle queue does not hold up the grace period", "[lockfree]") {
  QueueSync idle;  // seq even: never entered
  QueueSync* p[] = {&idle};
  wait_grace_period(p);  // returns at once
  idle.enter();          // now busy, with an I/O in flight
  idle.io_started();
  std::atomic<bool> returned{false};
  std::thread t([&] {
    synchronize(p);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_FALSE(returned.load());
  idle.leave();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE_FALSE(returned.load());  // still waiting for the I/O to drain
  idle.enter();
  idle.io_done();
  idle.leave();
  t.join();
  REQUIRE(returned.load());
}
