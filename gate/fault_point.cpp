// gate/fault_point.cpp — see fault_point.h.
#include "fault_point.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "blkgate/unique_fd.h"

namespace blkgate {

namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_count{0};
long g_kill_at = 0;           // written by ArmFaultPoints before g_armed is set
const char* g_log = nullptr;  // likewise
}  // namespace

void ArmFaultPoints() noexcept {
  const char* at = std::getenv("BLKGATE_TEST_KILL_AT");
  g_kill_at = at ? std::strtol(at, nullptr, 10) : 0;
  g_log = std::getenv("BLKGATE_TEST_FAULT_LOG");
  if (g_kill_at > 0 || g_log) g_armed.store(true, std::memory_order_release);
}

void FaultPoint(const char* what) noexcept {
  if (!g_armed.load(std::memory_order_acquire)) return;
  const long n = g_count.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool kill_now = n == g_kill_at;
  if (g_log) {
    char line[160];
    const int len =
        std::snprintf(line, sizeof line, "%ld %s%s\n", n, what, kill_now ? " KILL" : "");
    UniqueFd fd(::open(g_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (fd.valid()) {
      ssize_t w = ::write(fd.get(), line, static_cast<std::size_t>(len));
      (void)w;
    }
  }
  if (kill_now) {
    ::kill(::getpid(), SIGKILL);
    for (;;) ::pause();
  }
}

bool TestQueueStuck() noexcept {
  static const char* const path = std::getenv("BLKGATE_TEST_STUCK_QUEUE");
  // Removing the file claims the fault: one queue thread, once (the next daemon, which the
  // watchdog's restart starts with the same environment, serves normally).
  return path && *path && ::unlink(path) == 0;
}

void StuckForever() noexcept {
  for (;;) ::pause();  // queue threads block every signal: only a kill ends this
}

void TestRestoreDelay() noexcept {
  const char* ms = std::getenv("BLKGATE_TEST_RESTORE_DELAY_MS");
  if (!ms || !*ms) return;
  const long n = std::strtol(ms, nullptr, 10);
  if (n > 0) std::this_thread::sleep_for(std::chrono::milliseconds(n));
}

}  // namespace blkgate
