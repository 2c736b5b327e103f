// gate/watchdog.h — the service watchdog: answers systemd's WatchdogSec= only while every
// queue thread is alive.
//
// Every timeout / 4 the thread asks the heartbeats (heartbeat.h) whether each queue thread
// acknowledged the previous ping. When all did, it sends WATCHDOG=1; when one did not, it logs
// the silent queues and sets STATUS= to name them, and sends nothing, so systemd kills the
// daemon (WatchdogSignal=, SIGABRT) once a queue thread has been stuck for about 3/4 of the
// timeout, and restarts it (Restart=on-failure); the next daemon recovers every device. A queue
// answers within one period unless it is stuck: an idle one is woken by the ping itself.
//
// Thread-safety: constructor and Stop() from the main thread; the watchdog thread takes only
// the heartbeats' list mutex and never the control lock, so a long control call (a hook, a
// grace period) cannot starve it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "blkgate/unique_fd.h"
#include "heartbeat.h"

namespace blkgate {

class ServiceWatchdog {
 public:
  // How a beat is reported: the state for service::Notify ("WATCHDOG=1", or "STATUS=...").
  using Sink = std::function<void(const std::string&)>;
  // Starts the thread when timeout > 0; beats reach `sink`.
  ServiceWatchdog(Heartbeats* beats, std::chrono::microseconds timeout, Sink sink);
  ~ServiceWatchdog();
  ServiceWatchdog(const ServiceWatchdog&) = delete;
  ServiceWatchdog& operator=(const ServiceWatchdog&) = delete;

  // Ends and joins the thread (idempotent).
  void Stop();
  bool running() const { return thread_.joinable(); }

 private:
  void Run();

  Heartbeats* beats_;
  std::chrono::microseconds period_;
  Sink sink_;
  UniqueFd quit_;  // eventfd
  std::thread thread_;
};

}  // namespace blkgate
