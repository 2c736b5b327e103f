// bench/toggle.cpp — blkgate-bench-toggle: take a volume offline and online at a fixed rate
// through the control library (one connection, no process per call), timing every call.
//
//   blkgate-bench-toggle --socket PATH --volume NAME [--rate HZ] (--seconds S | --count N)
//                        [--settle-ms MS]
//
// One toggle = volume.offline, then volume.online half a period later; --rate is toggles per
// second (0: back to back). --settle-ms waits that long after each call instead (for timing
// single calls under load). Prints one line of JSON: the toggles done, the rate achieved, and
// the p50/p99/max of each verb's round trip in microseconds. Exits 1 if any call failed.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "blkgate/client.h"

using namespace blkgate;
using Clock = std::chrono::steady_clock;

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: blkgate-bench-toggle --socket PATH --volume NAME [--rate HZ]\n"
               "       (--seconds S | --count N) [--settle-ms MS]\n");
  std::exit(2);
}

std::string Stats(const char* name, const std::vector<double>& us) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "\"%s_us\":{\"n\":%zu,\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}",
                name, us.size(), bench::Percentile(us, 50), bench::Percentile(us, 99),
                bench::Percentile(us, 100));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, volume;
  double rate = 100, seconds = 0;
  long count = 0, settle_ms = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--socket")
      socket = val();
    else if (a == "--volume")
      volume = val();
    else if (a == "--rate")
      rate = std::stod(val());
    else if (a == "--seconds")
      seconds = std::stod(val());
    else if (a == "--count")
      count = std::stol(val());
    else if (a == "--settle-ms")
      settle_ms = std::stol(val());
    else
      Usage();
  }
  if (socket.empty() || volume.empty() || (seconds <= 0 && count <= 0) || rate < 0) Usage();

  std::unique_ptr<Client> c;
  if (Result r = Client::Connect(socket, &c); !r.ok()) {
    std::fprintf(stderr, "blkgate-bench-toggle: %s\n", r.ToString().c_str());
    return 2;
  }
  const nlohmann::json args = {{"name", volume}};
  std::vector<double> off_us, on_us;
  long failures = 0;
  auto call = [&](const char* op, std::vector<double>* lat) {
    const auto t0 = Clock::now();
    Result r = c->Call(op, args);
    lat->push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!r.ok()) {
      if (++failures <= 5)
        std::fprintf(stderr, "blkgate-bench-toggle: %s: %s\n", op, r.ToString().c_str());
    }
  };
  const auto half = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(rate > 0 ? 0.5 / rate : 0));
  const auto start = Clock::now();
  const auto end = seconds > 0 ? start + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(seconds))
                               : Clock::time_point::max();
  auto next = start;
  long toggles = 0;
  auto pace = [&] {
    if (settle_ms >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms));
    } else if (rate > 0) {
      next += half;
      if (next > Clock::now())
        std::this_thread::sleep_until(next);
      else
        next = Clock::now();  // behind: don't try to catch up in a burst
    }
  };
  while ((count <= 0 || toggles < count) && Clock::now() < end) {
    call("volume.offline", &off_us);
    pace();
    call("volume.online", &on_us);
    pace();
    ++toggles;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"toggles\":%ld,\"seconds\":%.3f,\"rate_hz\":%.2f,\"failures\":%ld,%s,%s}\n",
              toggles, secs, static_cast<double>(toggles) / secs, failures,
              Stats("offline", off_us).c_str(), Stats("online", on_us).c_str());
  return failures ? 1 : 0;
}
