// gate/queue_cpus.cpp — see queue_cpus.h.
#include "queue_cpus.h"

#include <array>

#include "blkgate/enum_names.h"

namespace blkgate {
namespace {
constexpr std::array<std::string_view, 3> kQueueCpusNames = {"spread", "own", "any"};  // by value
}  // namespace

std::string_view ToString(QueueCpus m) noexcept {
  return NameOf(kQueueCpusNames, m);
}

Result ParseQueueCpus(std::string_view s, QueueCpus* out) {
  return ParseByName(s, kQueueCpusNames, "--queue-cpus", out);
}

std::string CpuList(const cpu_set_t& set) {
  std::string out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &set)) continue;
    int last = c;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    if (!out.empty()) out += ',';
    out += std::to_string(c);
    if (last > c) out += '-' + std::to_string(last);
    c = last;
  }
  return out;
}

std::optional<cpu_set_t> QueueThreadCpus(QueueCpus mode, const cpu_set_t& allowed,
                                         const cpu_set_t& queue) noexcept {
  if (mode == QueueCpus::any) return std::nullopt;
  cpu_set_t out;
  if (mode == QueueCpus::own) {
    CPU_AND(&out, &allowed, &queue);
  } else {
    CPU_XOR(&out, &allowed, &queue);  // allowed minus queue: XOR, then keep what allowed has
    CPU_AND(&out, &out, &allowed);
    if (CPU_COUNT(&out) == 0) out = allowed;  // the queue has every CPU: run anywhere
  }
  if (CPU_COUNT(&out) == 0) return std::nullopt;
  return out;
}

}  // namespace blkgate
