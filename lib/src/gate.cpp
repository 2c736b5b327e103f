#include "blkgate/gate.h"

#include <time.h>

#include <vector>

namespace blkgate::gate {
namespace {

// Backoff for control-plane waits: spin briefly, then sleep 20 us doubling to 1 ms.
class Backoff {
 public:
  void pause() noexcept {
    if (spins_ < 64) {
      ++spins_;
      __builtin_ia32_pause();
      return;
    }
    timespec ts{0, sleep_ns_};
    nanosleep(&ts, nullptr);
    if (sleep_ns_ < 1'000'000) sleep_ns_ *= 2;
  }

 private:
  int spins_ = 0;
  long sleep_ns_ = 20'000;
};

}  // namespace

void wait_grace_period(std::span<QueueSync* const> queues) noexcept {
  // seq_cst loads after the seq_cst publish(): a queue whose seq we read even (idle) or see
  // change has, from its next enter() on, seen every word published before this call.
  std::vector<std::uint64_t> snap;
  snap.reserve(queues.size());
  for (QueueSync* q : queues) snap.push_back(q->seq.load(std::memory_order_seq_cst));
  for (std::size_t i = 0; i < queues.size(); ++i) {
    if ((snap[i] & 1) == 0) continue;  // was idle: quiescent
    Backoff b;
    while (queues[i]->seq.load(std::memory_order_acquire) == snap[i]) b.pause();
  }
}

void synchronize(std::span<QueueSync* const> queues) noexcept {
  wait_grace_period(queues);
  for (QueueSync* q : queues) {
    Backoff b;
    while (q->inflight.load(std::memory_order_acquire) != 0) b.pause();
  }
}

}  // namespace blkgate::gate
