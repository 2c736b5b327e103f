// gate/event_bus.h — the daemon's state-change events (blkgate/events.h) fanned out to the
// connections that subscribed (`monitor`), without ever making a call wait for a subscriber.
//
// Publish (the Controller's EventSink, called under the control lock) stamps the event (seq,
// wall-clock time), encodes it once, keeps it in a backlog of the last kBacklog events (a
// subscriber may ask for them first: monitor --replay) and appends it to every subscriber's
// queue. A queue holds at most kQueueLimit lines: a subscriber that does not take them (slow,
// stopped, or its client not reading, until the control server drops it after --send-timeout)
// loses the events that do not fit, and is sent one "lost" notice (events.h LostNotice: how many,
// and the seq of the last one) after the lines it had; the next events follow as usual. So
// Publish does a bounded amount of work per subscriber and never blocks on one: the only lock it
// shares with a subscriber guards that subscriber's queue, which the subscriber's connection
// thread holds just long enough to take the lines.
//
// Threads: Publish under the control lock (connection threads, the backend-error thread, the
// start); Subscribe and each subscription's Take on its connection thread. Locks: mu_ (the
// subscriber list and the backlog) before a subscription's own (ACQUIRED_AFTER). Queue threads
// never publish (a backend error reaches the Controller through the daemon's error thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "blkgate/events.h"
#include "blkgate/mutex.h"
#include "control_server.h"

namespace blkgate {

class EventBus final : public EventSink {
 public:
  static constexpr std::size_t kBacklog = 256;
  static constexpr std::size_t kQueueLimit = 4096;

  EventBus() = default;
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  void Publish(Event e) override EXCLUDES(mu_);
  // A new subscription; with replay its first lines are the backlog. *next_seq: the seq the
  // next live event will have. nullptr when out of descriptors (its eventfd).
  std::unique_ptr<MessageStream> Subscribe(bool replay, std::uint64_t* next_seq) EXCLUDES(mu_);

  // Counters, for tests: events published, events lost over all subscribers.
  std::uint64_t published() EXCLUDES(mu_);
  std::uint64_t lost() EXCLUDES(mu_);

 private:
  struct Queue;
  class Subscription;
  void Unsubscribe(Queue* q) EXCLUDES(mu_);

  Mutex mu_;
  std::uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  std::uint64_t lost_ GUARDED_BY(mu_) = 0;
  std::deque<std::string> backlog_ GUARDED_BY(mu_);  // encoded lines
  std::vector<std::shared_ptr<Queue>> queues_ GUARDED_BY(mu_);
};

}  // namespace blkgate
