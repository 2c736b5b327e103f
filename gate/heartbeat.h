// gate/heartbeat.h — liveness of the queue threads, for the service watchdog (watchdog.h).
//
// Each queue thread owns one Heartbeat, registered in the process-wide Heartbeats list while
// its event loop runs. The watchdog thread's Beat() checks that every registered queue
// acknowledged the previous ping, then pings again: it bumps `ping` and writes the queue's
// wake eventfd, which the queue's ring polls. A queue thread handling that wake-up (idle in
// io_uring_enter or busy with requests alike) copies `ping` into `ack`. So an idle queue
// blocked in the kernel counts as alive, and a queue thread stuck anywhere else (a blocking
// call, a loop, the test fault BLKGATE_TEST_STUCK_QUEUE) does not.
//
// Thread-safety: Add/Remove from the queue thread itself (before its loop, after it), Beat from
// the watchdog thread; the list's mutex is held only for those short walks, never by a queue
// thread while it serves. `ack` is written only by its queue thread, on its own cache line,
// and only on a wake-up: no shared write per request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "blkgate/mutex.h"

namespace blkgate {

struct Heartbeat {
  std::string name;  // "ublk0-q1", for the log
  int wake_fd = -1;  // eventfd the queue's ring polls; owned by the queue
  alignas(64) std::atomic<std::uint64_t> ping{0};  // written by the watchdog thread
  alignas(64) std::atomic<std::uint64_t> ack{0};   // written by the queue thread

  // The queue thread, on a wake-up: the latest ping is answered.
  void Acknowledge() noexcept {
    ack.store(ping.load(std::memory_order_acquire), std::memory_order_release);
  }
};

class Heartbeats {
 public:
  // The daemon's list (every queue thread of every device).
  static Heartbeats& Process();

  // hb is answered from now on (it counts as having acknowledged every ping so far).
  void Add(Heartbeat* hb) EXCLUDES(mu_);
  void Remove(Heartbeat* hb) EXCLUDES(mu_);
  // The names of the queues that have not acknowledged the previous ping, with how long they
  // have been silent; every other queue is pinged again. Empty: every queue thread is alive.
  struct Silent {
    std::string name;
    std::chrono::milliseconds for_ms;
  };
  std::vector<Silent> Beat() EXCLUDES(mu_);
  std::size_t size() EXCLUDES(mu_);

 private:
  struct Entry {
    Heartbeat* hb;
    std::chrono::steady_clock::time_point pinged;  // when its unanswered ping was sent
  };
  Mutex mu_;
  std::vector<Entry> entries_ GUARDED_BY(mu_);
};

}  // namespace blkgate
