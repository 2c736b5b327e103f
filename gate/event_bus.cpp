// gate/event_bus.cpp — state-change events to subscribers (see event_bus.h).
#include "event_bus.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "blkgate/protocol.h"
#include "blkgate/unique_fd.h"

namespace blkgate {

// One subscriber's lines. Its mutex is taken by Publish (append) and by the subscriber (take).
struct EventBus::Queue {
  Mutex mu ACQUIRED_AFTER(EventBus::mu_);
  std::deque<std::string> lines GUARDED_BY(mu);
  std::uint64_t lost GUARDED_BY(mu) = 0;       // since the last notice
  std::uint64_t last_lost GUARDED_BY(mu) = 0;  // seq of the last lost event
  UniqueFd wake;                               // eventfd: readable when lines are waiting
};

class EventBus::Subscription final : public MessageStream {
 public:
  Subscription(EventBus* bus, std::shared_ptr<Queue> q) : bus_(bus), q_(std::move(q)) {}
  ~Subscription() override { bus_->Unsubscribe(q_.get()); }

  int wake_fd() const override { return q_->wake.get(); }

  bool Take(std::string* wire) override {
    std::uint64_t n;
    while (::read(q_->wake.get(), &n, sizeof n) == sizeof n) {
    }
    MutexLock lock(&q_->mu);
    for (const std::string& l : q_->lines) *wire += l;
    q_->lines.clear();
    if (q_->lost) {
      *wire += protocol::EncodeEvent(LostNotice(q_->lost, q_->last_lost));
      q_->lost = 0;
    }
    return true;
  }

 private:
  EventBus* const bus_;
  const std::shared_ptr<Queue> q_;
};

void EventBus::Publish(Event e) {
  MutexLock lock(&mu_);
  e.seq = next_seq_++;
  e.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  std::string line = protocol::EncodeEvent(ToJson(e));
  for (const auto& q : queues_) {
    bool queued = false;
    {
      MutexLock ql(&q->mu);
      if (q->lines.size() < kQueueLimit) {
        q->lines.push_back(line);
        queued = true;
      } else {
        ++q->lost;
        q->last_lost = e.seq;
      }
    }
    if (!queued) ++lost_;
    const std::uint64_t one = 1;
    ssize_t w = ::write(q->wake.get(), &one, sizeof one);  // non-blocking; a full counter is awake
    (void)w;
  }
  backlog_.push_back(std::move(line));
  if (backlog_.size() > kBacklog) backlog_.pop_front();
}

std::unique_ptr<MessageStream> EventBus::Subscribe(bool replay, std::uint64_t* next_seq) {
  auto q = std::make_shared<Queue>();
  q->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!q->wake.valid()) return nullptr;
  MutexLock lock(&mu_);
  if (replay && !backlog_.empty()) {
    MutexLock ql(&q->mu);
    q->lines.assign(backlog_.begin(), backlog_.end());
    const std::uint64_t one = 1;
    ssize_t w = ::write(q->wake.get(), &one, sizeof one);
    (void)w;
  }
  queues_.push_back(q);
  *next_seq = next_seq_;
  return std::make_unique<Subscription>(this, std::move(q));
}

void EventBus::Unsubscribe(Queue* q) {
  MutexLock lock(&mu_);
  queues_.erase(std::remove_if(queues_.begin(), queues_.end(),
                               [q](const std::shared_ptr<Queue>& p) { return p.get() == q; }),
                queues_.end());
}

std::uint64_t EventBus::published() {
  MutexLock lock(&mu_);
  return next_seq_ - 1;
}

std::uint64_t EventBus::lost() {
  MutexLock lock(&mu_);
  return lost_;
}

}  // namespace blkgate
