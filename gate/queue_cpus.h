// gate/queue_cpus.h — which CPUs a queue thread may run on (the daemon's --queue-cpus).
//
// blk-mq maps every CPU to one hardware queue: a request submitted on CPU c goes to the queue
// whose CPU list holds c (UBLK_U_CMD_GET_QUEUE_AFFINITY), and that queue's thread is woken
// from c. Left alone, the scheduler often pulls the woken thread onto the waker's CPU, where it
// and the submitter take turns with the CPU; measured in the VM (bench/README.md, "What was
// tried"), 4k random reads at QD 32 on a null volume ran at 12,000 IOPS with each queue thread
// on its own queue's CPUs against 74,000-84,000 left to the scheduler, and a run left to the
// scheduler varied with where it happened to put them. So by default each queue thread keeps
// off the CPUs whose requests it serves, where the daemon has other CPUs.
//
// Pure functions, no state: thread-safe.
#pragma once

#include <sched.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

enum class QueueCpus : std::uint8_t {
  spread,  // the daemon's CPUs but the queue's own (default; all of them if none is left)
  own,     // the queue's own CPUs (ublksrv's choice: the submitter's caches)
  any,     // no affinity set: the scheduler decides
};

std::string_view ToString(QueueCpus m) noexcept;
// invalid_argument naming the accepted values for anything else; *out unchanged then.
Result ParseQueueCpus(std::string_view s, QueueCpus* out);

// "0-3,6" (empty for no CPU).
std::string CpuList(const cpu_set_t& set);

// The CPUs a queue thread gets under `mode`, from the daemon's (`allowed`) and the queue's
// (`queue`: the CPUs whose requests it serves). None when the thread is best left as it is:
// mode any, or no CPU of `allowed` would be left.
std::optional<cpu_set_t> QueueThreadCpus(QueueCpus mode, const cpu_set_t& allowed,
                                         const cpu_set_t& queue) noexcept;

}  // namespace blkgate
