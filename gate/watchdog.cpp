// gate/watchdog.cpp — see watchdog.h.
#include "watchdog.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "log.h"

namespace blkgate {

ServiceWatchdog::ServiceWatchdog(Heartbeats* beats, std::chrono::microseconds timeout, Sink sink)
    : beats_(beats), period_(timeout / 4), sink_(std::move(sink)) {
  if (timeout.count() <= 0) return;
  quit_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!quit_.valid()) {
    Log("watchdog: eventfd failed; no watchdog pings (systemd will restart the daemon)");
    return;
  }
  Log("watchdog: every queue thread is checked every " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(period_).count()) +
      " ms");
  thread_ = std::thread([this] { Run(); });
}

ServiceWatchdog::~ServiceWatchdog() {
  Stop();
}

void ServiceWatchdog::Stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  ssize_t n = ::write(quit_.get(), &one, sizeof one);
  (void)n;
  thread_.join();
}

void ServiceWatchdog::Run() {
  const int timeout_ms = static_cast<int>(std::max<long long>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(period_).count()));
  bool was_silent = false;
  for (;;) {
    const std::vector<Heartbeats::Silent> silent = beats_->Beat();
    if (silent.empty()) {
      if (was_silent) {
        Log("watchdog: every queue thread answers again");
        sink_("STATUS=every queue thread answers again");
      }
      sink_("WATCHDOG=1");
    } else {
      std::string names;
      for (const auto& s : silent) {
        if (!names.empty()) names += ", ";
        names += s.name + " (" + std::to_string(s.for_ms.count()) + " ms)";
      }
      Log("watchdog: queue threads not answering: " + names + "; no watchdog ping");
      sink_("STATUS=queue threads not answering: " + names);
    }
    was_silent = !silent.empty();
    pollfd p{quit_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR) {
      Log("watchdog: poll failed; no more watchdog pings");
      return;
    }
    if (r > 0) return;
  }
}

}  // namespace blkgate
