// bench/micro.cpp — micro-benchmarks of the gate and the queue's request handler (Google
// Benchmark, native, no ublk).
//
//   BM_GateCheck            one GateWord load + gate::decide() per request, as IoHandler::Submit
//                           does it; 1 and 2 threads, each thread on its own volume's word or
//                           all on the same word (reads only: both must scale linearly)
//   BM_SharedWriteCounterexample
//                           what the gate does NOT do: a per-request store to a line shared by
//                           the threads (QueueStats::bump on a shared counter). Shows what the
//                           thread scaling of BM_GateCheck would look like if it did.
//   BM_Handler              a request through the real IoHandler (io_handler.cpp) fed by the
//                           in-process source (io_source_mem.cpp) with the null and mem
//                           backends; the volume's GateWord and layout are mprotect()ed
//                           read-only meanwhile, so a write to shared volume state would fault
//   BM_HandlerThreads       1 and 2 queue threads, each with its own source, on one volume or
//                           each on its own
//   BM_Toggle               offline + online (publish + synchronize each) while a queue thread
//                           hammers the check (raw check loop or the real handler), on its own
//                           volume or on another; hammer_ratio compares the hammer's rate in
//                           toggling and quiet periods, interleaved
//   BM_GracePeriod          synchronize() over N queues, idle or with one busy queue thread
//
// Items are requests (or checks): ns per request = 1e9 / items_per_second (per thread: times
// the thread count). bench/run turns the JSON output into the results table.
#include <benchmark/benchmark.h>
#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "backend.h"
#include "bench_util.h"
#include "blkgate/gate.h"
#include "io_source_mem.h"
#include "ublk_abi.h"

namespace {

using namespace blkgate;
using bench::Die;
using bench::SealedVolume;

// ---- the gate check ---------------------------------------------------------------------------

struct Req {
  gate::OpClass cls;
  int first, last;
};

// A realistic request mix: reads, writes and the odd flush, mostly one segment.
const std::array<Req, 256> kReqs = [] {
  std::array<Req, 256> a{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    const gate::OpClass c = i % 61 == 0 ? gate::OpClass::flush
                                        : (i % 3 == 0 ? gate::OpClass::write : gate::OpClass::read);
    a[i] = Req{c, 0, i % 17 == 0 ? 1 : 0};
  }
  return a;
}();

// Per-thread time counters for the thread-scaling benchmarks, averaged over the threads:
// cpu_ns_per_req counts the CPU time of the thread itself (stalls on a contended cache line
// count, being descheduled by a busy machine does not), wall_ns_per_req its wall-clock time.
class ThreadClock {
 public:
  ThreadClock() : cpu0_(CpuNs()), wall0_(std::chrono::steady_clock::now()) {}
  void Report(benchmark::State& st, std::uint64_t items) const {
    const double cpu = static_cast<double>(CpuNs() - cpu0_);
    const double wall =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - wall0_).count();
    const double n = items ? static_cast<double>(items) : 1.0;
    st.counters["cpu_ns_per_req"] = benchmark::Counter(cpu / n, benchmark::Counter::kAvgThreads);
    st.counters["wall_ns_per_req"] = benchmark::Counter(wall / n, benchmark::Counter::kAvgThreads);
  }

 private:
  static std::uint64_t CpuNs() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
           static_cast<std::uint64_t>(ts.tv_nsec);
  }
  std::uint64_t cpu0_;
  std::chrono::steady_clock::time_point wall0_;
};

gate::GateWord g_shared_word;   // one volume, read by every thread
gate::GateWord g_own_words[8];  // one volume per thread (alignas(64): own lines)

void BM_GateCheck(benchmark::State& st) {
  const bool shared = st.range(0) != 0;
  gate::GateWord& g = shared ? g_shared_word : g_own_words[st.thread_index() % 8];
  std::uint64_t admitted = 0;
  ThreadClock clock;
  for (auto _ : st) {
    for (const Req& r : kReqs) admitted += gate::decide(g.load(), r.cls, r.first, r.last) == 0;
    benchmark::DoNotOptimize(admitted);
  }
  clock.Report(st, st.iterations() * kReqs.size());
  if (admitted != st.iterations() * kReqs.size()) st.SkipWithError("a request was refused");
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kReqs.size()));
}
// The sharing comparisons: shared:0 (a volume, or counter, per thread) vs shared:1 (one for
// all), on 1 and 2 threads. MinTime: they compare to a fraction of a nanosecond; more samples.
void SharedVsOwn(benchmark::internal::Benchmark* b) {
  b->ArgName("shared")->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime()->MinTime(0.2);
}
BENCHMARK(BM_GateCheck)->Apply(SharedVsOwn);

// The slow paths, for reference: an offline volume, and a 16-drive disk with a not-ready drive
// (a flush walks every segment).
void BM_GateCheckRefused(benchmark::State& st) {
  gate::GateWord g;
  g.word.store(st.range(0) == 0 ? gate::kOffline
                                : gate::segment_bits(15, gate::DriveBits::not_ready));
  const int last = st.range(0) == 0 ? 0 : 15;
  int sum = 0;
  for (auto _ : st) {
    for (const Req& r : kReqs) sum += gate::decide(g.load(), gate::OpClass::flush, r.first, last);
    benchmark::DoNotOptimize(sum);
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kReqs.size()));
}
BENCHMARK(BM_GateCheckRefused)->ArgName("not_ready_16")->Arg(0)->Arg(1);

struct alignas(64) PaddedCounter {
  std::atomic<std::uint64_t> v{0};
};
PaddedCounter g_shared_counter;
PaddedCounter g_own_counters[8];

// The same check, plus a per-request atomic increment of a counter that is either the
// thread's own (as QueueSync::io_started/QueueStats are) or shared by all threads (as a
// volume-wide in-flight count would be).
void BM_SharedWriteCounterexample(benchmark::State& st) {
  const bool shared = st.range(0) != 0;
  gate::GateWord& g = g_own_words[st.thread_index() % 8];
  std::atomic<std::uint64_t>& c =
      shared ? g_shared_counter.v : g_own_counters[st.thread_index() % 8].v;
  std::uint64_t admitted = 0;
  ThreadClock clock;
  for (auto _ : st) {
    for (const Req& r : kReqs) {
      admitted += gate::decide(g.load(), r.cls, r.first, r.last) == 0;
      c.fetch_add(1, std::memory_order_relaxed);
    }
    benchmark::DoNotOptimize(admitted);
  }
  clock.Report(st, st.iterations() * kReqs.size());
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * kReqs.size()));
}
BENCHMARK(BM_SharedWriteCounterexample)->Apply(SharedVsOwn);

// ---- the request handler ----------------------------------------------------------------------

enum BackendArg { kNull = 0, kMem = 1 };

std::unique_ptr<io::Backend> MakeBackend(int kind, std::uint64_t size) {
  if (kind == kNull) return io::MakeNullBackend();
  std::unique_ptr<io::Backend> b;
  Result r = io::MakeMemBackend(size, &b);
  if (!r.ok()) Die(r.ToString());
  return b;
}

std::unique_ptr<io::MemRequestSource> MakeSource(const SealedVolume& v, gate::GateWord* g,
                                                 io::Backend* b, std::uint16_t depth) {
  io::MemSourceConfig c;
  c.layout = v.layout();
  c.backend = b;
  c.gate = g;
  c.depth = depth;
  c.max_io_bytes = 128 * 1024;
  std::unique_ptr<io::MemRequestSource> s;
  Result r = io::MemRequestSource::Create(c, &s);
  if (!r.ok()) Die(r.ToString());
  return s;
}

constexpr std::uint64_t kVolumeSize = 64ull << 20;
constexpr std::uint64_t kBatch = 1024;  // requests per benchmark iteration

// args: backend, op (0 read, 1 write), block bytes, queue depth
void BM_Handler(benchmark::State& st) {
  const int kind = static_cast<int>(st.range(0));
  const std::uint8_t op = st.range(1) == 0 ? ublk::kOpRead : ublk::kOpWrite;
  SealedVolume vol(kVolumeSize);
  auto backend = MakeBackend(kind, kVolumeSize);
  auto src = MakeSource(vol, vol.gate(), backend.get(), 128);
  if (kind == kMem) {  // touch every page once, so page faults stay out of the numbers
    io::LoadSpec fill;
    fill.op = ublk::kOpWrite;
    fill.block_bytes = 128 * 1024;
    fill.random = false;
    fill.qd = 1;
    fill.requests = kVolumeSize / fill.block_bytes;
    src->RunLoad(fill);
  }
  io::LoadSpec spec;
  spec.op = op;
  spec.block_bytes = static_cast<std::uint32_t>(st.range(2));
  spec.qd = static_cast<std::uint16_t>(st.range(3));
  spec.requests = kBatch;
  std::uint64_t n = 0, errors = 0, bytes = 0;
  vol.Seal();
  for (auto _ : st) {
    const io::LoadResult r = src->RunLoad(spec);
    n += r.completed;
    errors += r.errors;
    bytes += r.bytes;
    ++spec.seed;
  }
  vol.Unseal();
  if (errors) st.SkipWithError("requests failed");
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
  st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Handler)
    ->ArgNames({"mem", "write", "bs", "qd"})
    ->Args({kNull, 0, 4096, 1})
    ->Args({kNull, 0, 4096, 32})
    ->Args({kNull, 1, 4096, 1})
    ->Args({kNull, 1, 4096, 32})
    ->Args({kNull, 1, 4096, 128})
    ->Args({kMem, 0, 4096, 32})
    ->Args({kMem, 1, 4096, 32})
    ->Args({kMem, 0, 131072, 32})
    ->Args({kMem, 1, 131072, 32});

// Volumes for BM_HandlerThreads, sealed for good (never written): [0] is shared by every
// thread, [1 + i] is thread i's own.
struct ThreadRig {
  SealedVolume vol{kVolumeSize};
  std::unique_ptr<io::Backend> backend = io::MakeNullBackend();
  ThreadRig() { vol.Seal(); }
};
ThreadRig& Rig(int i) {
  static ThreadRig rigs[9];
  return rigs[i];
}

// arg shared: 1 all threads on one volume, 0 each thread on its own. Each thread has its own
// source (ring, handler, tags), as each ublk queue does. With 2 threads, what the same volume
// costs over separate volumes is what sharing the volume's state costs.
void BM_HandlerThreads(benchmark::State& st) {
  ThreadRig& rig = Rig(st.range(0) ? 0 : 1 + st.thread_index() % 8);
  auto src = MakeSource(rig.vol, rig.vol.gate(), rig.backend.get(), 32);
  io::LoadSpec spec;
  spec.op = ublk::kOpWrite;
  spec.qd = 32;
  spec.requests = kBatch;
  spec.seed = 1 + static_cast<std::uint64_t>(st.thread_index());
  std::uint64_t n = 0;
  ThreadClock clock;
  for (auto _ : st) n += src->RunLoad(spec).completed;
  clock.Report(st, n);
  st.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_HandlerThreads)->Apply(SharedVsOwn);

// ---- toggles and grace periods -----------------------------------------------------------------

// A thread playing a queue thread: each window (enter ... leave) handles a batch of requests,
// as a ublk queue thread does per wake-up. kind 0: the bare check, 64 per window; kind 1: the
// real handler with the null backend, 256 requests per window (RunLoad enters and leaves).
class Hammer {
 public:
  Hammer(int kind, SealedVolume* vol, gate::GateWord* g, io::Backend* backend)
      : kind_(kind), vol_(vol), g_(g), backend_(backend), th_([this] { Run(); }) {
    while (!ready_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  ~Hammer() {
    stop_.store(true, std::memory_order_relaxed);
    th_.join();
  }
  gate::QueueSync* sync() { return sync_; }
  std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

 private:
  void Run() {
    if (kind_ == 0) {
      gate::QueueSync own;
      sync_ = &own;
      ready_.store(true, std::memory_order_release);
      std::uint64_t n = 0;
      unsigned admitted = 0;
      while (!stop_.load(std::memory_order_relaxed)) {
        own.enter();
        for (int i = 0; i < 64; ++i)
          admitted += gate::decide(g_->load(), gate::OpClass::read, 0, 0) == 0;
        own.leave();
        n += 64;
        requests_.store(n, std::memory_order_relaxed);
      }
      benchmark::DoNotOptimize(admitted);
      return;
    }
    auto src = MakeSource(*vol_, g_, backend_, 32);
    sync_ = src->sync();
    ready_.store(true, std::memory_order_release);
    io::LoadSpec spec;
    spec.op = ublk::kOpWrite;
    spec.qd = 32;
    spec.requests = 256;
    std::uint64_t n = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      n += src->RunLoad(spec).completed;
      requests_.store(n, std::memory_order_relaxed);
    }
  }

  const int kind_;
  SealedVolume* vol_;
  gate::GateWord* g_;
  io::Backend* backend_;
  gate::QueueSync* sync_ = nullptr;
  alignas(64) std::atomic<std::uint64_t> requests_{0};
  alignas(64) std::atomic<bool> ready_{false};
  std::atomic<bool> stop_{false};
  std::thread th_;  // last: started once everything above is constructed
};

// args: hammer kind (0 bare check, 1 handler); target (0 nothing, 1 the hammered volume A,
// 2 another volume B). Iterations are 100 us periods; with a target, every other period starts
// with an offline then an online of the target, each with its grace period (synchronize over
// the target volume's queues): up to 5000 toggles a second, interleaved with quiet periods.
// Counters: toggle_us, the time of offline + online; hammer_mreq_s, the hammer's requests per
// second; hammer_ratio, its rate in toggling periods over its rate in quiet ones (measured in
// the same run, period by period). With target 2 volume A's page is sealed read-only: B's
// toggles never write it.
void BM_Toggle(benchmark::State& st) {
  const int kind = static_cast<int>(st.range(0));
  const int target = static_cast<int>(st.range(1));
  SealedVolume a(kVolumeSize), b(kVolumeSize);
  auto backend = io::MakeNullBackend();
  gate::QueueSync b_idle;  // volume B's queue thread, idle (B has no load)
  if (target != 1) a.Seal();
  Hammer h(kind, &a, a.gate(), backend.get());
  gate::QueueSync* const a_syncs[] = {h.sync()};
  gate::QueueSync* const b_syncs[] = {&b_idle};
  gate::GateWord* g = target == 1 ? a.gate() : b.gate();
  std::span<gate::QueueSync* const> syncs = target == 1 ? std::span(a_syncs) : std::span(b_syncs);
  using Clock = std::chrono::steady_clock;
  Clock::duration toggling{}, period_time[2]{};
  std::uint64_t period_reqs[2] = {0, 0}, toggles = 0, n = 0;
  const std::uint64_t r0 = h.requests();
  const auto t0 = Clock::now();
  for (auto _ : st) {
    const auto start = Clock::now();
    const std::uint64_t rs = h.requests();
    const bool toggle = target != 0 && (n++ & 1) == 0;
    if (toggle) {
      gate::publish(*g, gate::kOffline);
      gate::synchronize(syncs);
      gate::publish(*g, 0);
      gate::synchronize(syncs);
      toggling += Clock::now() - start;
      ++toggles;
    }
    std::this_thread::sleep_until(start + std::chrono::microseconds(100));
    period_time[toggle] += Clock::now() - start;
    period_reqs[toggle] += h.requests() - rs;
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  auto rate = [&](int i) {
    const double t = std::chrono::duration<double>(period_time[i]).count();
    return t > 0 ? static_cast<double>(period_reqs[i]) / t : 0.0;
  };
  st.counters["hammer_mreq_s"] = static_cast<double>(h.requests() - r0) / secs / 1e6;
  if (target != 0) {
    st.counters["hammer_ratio"] = rate(0) > 0 ? rate(1) / rate(0) : 0.0;
    st.counters["toggle_us"] = std::chrono::duration<double, std::micro>(toggling).count() /
                               static_cast<double>(std::max<std::uint64_t>(1, toggles));
  }
}
BENCHMARK(BM_Toggle)
    ->ArgNames({"handler", "target"})
    ->Args({0, 0})
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->UseRealTime();

// args: queues, busy (0: all idle; 1: queue 0 is a thread hammering the bare check; 2: queue
// 0 runs the real handler). Each iteration: one synchronize() (grace period + inflight drain).
void BM_GracePeriod(benchmark::State& st) {
  const int nq = static_cast<int>(st.range(0));
  const int busy = static_cast<int>(st.range(1));
  SealedVolume vol(kVolumeSize);
  auto backend = io::MakeNullBackend();
  std::vector<gate::QueueSync> idle(static_cast<std::size_t>(nq));
  std::unique_ptr<Hammer> h;
  if (busy) h = std::make_unique<Hammer>(busy - 1, &vol, vol.gate(), backend.get());
  std::vector<gate::QueueSync*> syncs;
  for (auto& q : idle) syncs.push_back(&q);
  if (h) syncs[0] = h->sync();
  for (auto _ : st) gate::synchronize(syncs);
}
BENCHMARK(BM_GracePeriod)
    ->ArgNames({"queues", "busy"})
    ->Args({1, 0})
    ->Args({4, 0})
    ->Args({16, 0})
    ->Args({1, 1})
    ->Args({1, 2})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
