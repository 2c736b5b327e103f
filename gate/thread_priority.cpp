#include "thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace blkgate {

ThreadPriority ThreadPriority::OfCallingThread() noexcept {
  ThreadPriority p;
  sched_param sp{};
  if (int pol = ::sched_getscheduler(0); pol >= 0) p.policy = pol & ~SCHED_RESET_ON_FORK;
  if (::sched_getparam(0, &sp) == 0) p.rt_priority = sp.sched_priority;
  errno = 0;
  // PRIO_PROCESS with 0 is the calling thread on Linux.
  if (int n = ::getpriority(PRIO_PROCESS, 0); errno == 0) p.nice = n;
  return p;
}

int ThreadPriority::ApplyToCallingThread() const noexcept {
  sched_param sp{};
  sp.sched_priority = rt_priority;
  if (::sched_setscheduler(0, policy, &sp) != 0) return -errno;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0) return -errno;
  return 0;
}

}  // namespace blkgate
