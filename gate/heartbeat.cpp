// gate/heartbeat.cpp — see heartbeat.h.
#include "heartbeat.h"

#include <unistd.h>

#include <algorithm>

namespace blkgate {

Heartbeats& Heartbeats::Process() {
  static Heartbeats* list = new Heartbeats;  // never destroyed: queue threads may outlive main
  return *list;
}

void Heartbeats::Add(Heartbeat* hb) {
  hb->ack.store(hb->ping.load(std::memory_order_acquire), std::memory_order_release);
  MutexLock lock(&mu_);
  entries_.push_back({hb, std::chrono::steady_clock::now()});
}

void Heartbeats::Remove(Heartbeat* hb) {
  MutexLock lock(&mu_);
  std::erase_if(entries_, [hb](const Entry& e) { return e.hb == hb; });
}

std::size_t Heartbeats::size() {
  MutexLock lock(&mu_);
  return entries_.size();
}

std::vector<Heartbeats::Silent> Heartbeats::Beat() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Silent> silent;
  MutexLock lock(&mu_);
  for (Entry& e : entries_) {
    Heartbeat& hb = *e.hb;
    if (hb.ack.load(std::memory_order_acquire) != hb.ping.load(std::memory_order_relaxed)) {
      silent.push_back(
          {hb.name, std::chrono::duration_cast<std::chrono::milliseconds>(now - e.pinged)});
      continue;  // its ping stays unanswered; no second one
    }
    hb.ping.fetch_add(1, std::memory_order_release);
    e.pinged = now;
    const std::uint64_t one = 1;
    ssize_t n = ::write(hb.wake_fd, &one, sizeof one);  // non-blocking eventfd
    (void)n;
  }
  return silent;
}

}  // namespace blkgate
