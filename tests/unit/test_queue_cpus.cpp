// tests/unit/test_queue_cpus.cpp — where queue threads run (gate/queue_cpus.h): the CPU sets
// each --queue-cpus mode gives, the names, and the CPU list format of the log.
#include <catch2/catch.hpp>
#include <initializer_list>

#include "queue_cpus.h"

namespace blkgate {
namespace {

cpu_set_t Cpus(std::initializer_list<int> cpus) {
  cpu_set_t s;
  CPU_ZERO(&s);
  for (int c : cpus) CPU_SET(c, &s);
  return s;
}

// The set a placement gives as a CPU list; "none" when the thread is left alone.
std::string Placed(const std::optional<cpu_set_t>& cpus) {
  return cpus ? CpuList(*cpus) : "none";
}

TEST_CASE("spread: the daemon's CPUs but the queue's own", "[queue_cpus]") {
  // Two CPUs, two queues (blk-mq: queue 0 serves CPU 1 on 7.2, CPU 0 on 6.12): the other one.
  CHECK(Placed(QueueThreadCpus(QueueCpus::spread, Cpus({0, 1}), Cpus({1}))) == "0");
  // The queue's CPUs outside the daemon's (taskset) do not matter; only allowed CPUs are given.
  CHECK(Placed(QueueThreadCpus(QueueCpus::spread, Cpus({2, 3, 4}), Cpus({0, 3}))) == "2,4");
  // One queue serving every CPU (or a daemon confined to the queue's CPUs): run anywhere.
  CHECK(Placed(QueueThreadCpus(QueueCpus::spread, Cpus({0, 1}), Cpus({0, 1}))) == "0-1");
  CHECK(Placed(QueueThreadCpus(QueueCpus::spread, Cpus({5}), Cpus({5, 6}))) == "5");
}

TEST_CASE("own: the queue's CPUs the daemon may use; any: left alone", "[queue_cpus]") {
  CHECK(Placed(QueueThreadCpus(QueueCpus::own, Cpus({0, 1, 2, 3}), Cpus({1, 3}))) == "1,3");
  CHECK(Placed(QueueThreadCpus(QueueCpus::own, Cpus({0, 1}), Cpus({1, 7}))) == "1");
  // None of the queue's CPUs is the daemon's: nothing to pin to.
  CHECK_FALSE(QueueThreadCpus(QueueCpus::own, Cpus({0, 1}), Cpus({4})));
  CHECK_FALSE(QueueThreadCpus(QueueCpus::any, Cpus({0, 1}), Cpus({1})));
  // No CPU known for the queue: own has nothing, spread keeps the daemon's.
  CHECK_FALSE(QueueThreadCpus(QueueCpus::own, Cpus({0, 1}), Cpus({})));
  CHECK(Placed(QueueThreadCpus(QueueCpus::spread, Cpus({0, 1}), Cpus({}))) == "0-1");
}

TEST_CASE("--queue-cpus names: each mode by name; anything else refused, nothing changed",
          "[queue_cpus]") {
  for (QueueCpus m : {QueueCpus::spread, QueueCpus::own, QueueCpus::any}) {
    QueueCpus parsed = m == QueueCpus::any ? QueueCpus::spread : QueueCpus::any;
    REQUIRE(ParseQueueCpus(ToString(m), &parsed).ok());
    CHECK(parsed == m);
  }
  QueueCpus m = QueueCpus::own;
  for (const char* bad : {"", "Spread", "spread ", "0-3", "none"}) {
    Result r = ParseQueueCpus(bad, &m);
    CHECK(r.code() == Code::invalid_argument);
    CHECK(r.message().find("spread, own or any") != std::string::npos);
    CHECK(m == QueueCpus::own);
  }
}

TEST_CASE("CPU lists as the log writes them: ranges and singles", "[queue_cpus]") {
  CHECK(CpuList(Cpus({})).empty());
  CHECK(CpuList(Cpus({0})) == "0");
  CHECK(CpuList(Cpus({0, 1, 2, 3, 6})) == "0-3,6");
  CHECK(CpuList(Cpus({1, 3, 4, CPU_SETSIZE - 1})) == "1,3-4," + std::to_string(CPU_SETSIZE - 1));
}

}  // namespace
}  // namespace blkgate
