// gate/thread_priority.h — a thread's scheduling class and nice value, captured and re-applied.
//
// Linux keeps policy, real-time priority and nice per thread, and a new thread (or a spawned
// process) inherits its creator's. The daemon creates queue threads from control threads that
// run at a lower priority, so each queue thread applies the data path's priority itself.
#pragma once

#include <sched.h>

namespace blkgate {

struct ThreadPriority {
  int policy = SCHED_OTHER;  // SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR
  int rt_priority = 0;       // for SCHED_FIFO / SCHED_RR
  int nice = 0;              // for the others

  // The calling thread's. Never fails (defaults on error).
  static ThreadPriority OfCallingThread() noexcept;
  // Applies to the calling thread. Returns 0 or -errno (raising a priority back needs
  // CAP_SYS_NICE or RLIMIT_NICE; the daemon runs as root).
  int ApplyToCallingThread() const noexcept;
};

}  // namespace blkgate
