// bench/engine.cpp — blkgate-bench-engine: the native request engine on its own.
//
// Runs the queue's real request handler (gate/io_handler.cpp) with a real backend (file, null
// or mem), fed by the in-process source (gate/io_source_mem.cpp) as a closed loop of QD
// requests — the same thing fio does with --iodepth — on one thread, and prints one line of
// JSON. bench/run compares it with fio --ioengine=io_uring --direct=1 on the same file.
//
//   blkgate-bench-engine --file PATH --rw randread|randwrite|read|write [--bs 4096] [--qd 32]
//                        [--seconds 5] [--warmup 0.5] [--size BYTES] [--backend file|null|mem]
//                        [--submit batch|each]
//
// --submit batch (default): MemRequestSource::RunLoad, the loop a ublk queue thread runs: wait
//   for completions, handle them all, re-issue, then one io_uring_enter submits the batch.
// --submit each: the source's asynchronous API (Submit + Poll); every request is submitted
//   as soon as it is issued (one io_uring_enter each), as fio does with its default
//   iodepth_batch_submit=1. Same handler, same backend; only the submission pattern differs.
//
// The file must exist; --size defaults to its size. The file backend opens it O_DIRECT when
// the file system allows it (the daemon does the same), which "direct" in the output reports.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "bench_util.h"
#include "io_source_mem.h"
#include "ublk_abi.h"

using namespace blkgate;
using bench::Die;

namespace {

void Usage() {
  std::fprintf(stderr,
               "usage: blkgate-bench-engine --file PATH --rw randread|randwrite|read|write\n"
               "       [--bs BYTES] [--qd N] [--seconds S] [--warmup S] [--size BYTES]\n"
               "       [--backend file|null|mem] [--submit batch|each]\n");
  std::exit(2);
}

// A closed loop of spec.qd requests over the source's asynchronous API: every request is
// submitted on its own (MemRequestSource::Submit ends with io_uring_submit).
io::LoadResult RunEach(io::MemRequestSource& src, const io::LoadSpec& spec, std::uint64_t blocks) {
  io::LoadResult out;
  std::uint64_t x = spec.seed ? spec.seed : 1, seq = 0;
  const std::uint32_t nr = spec.block_bytes / 512;
  std::vector<bool> pending(spec.qd, false);  // submitted, completion not yet counted
  auto issue = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const std::uint64_t block = spec.random ? x % blocks : seq++ % blocks;
    const int tag = src.Submit(spec.op, block * nr, nr);
    if (tag < 0 || tag >= spec.qd) Die("submit: no free tag");
    pending[static_cast<std::size_t>(tag)] = true;
  };
  const std::uint64_t t0 = io::MonotonicNs();
  const std::uint64_t end = t0 + spec.max_ns;
  for (std::uint16_t i = 0; i < spec.qd; ++i) issue();
  std::uint64_t busy = spec.qd;
  bool stop = false;
  while (busy > 0) {
    src.Poll(1000);
    unsigned done = 0;
    for (std::uint16_t t = 0; t < spec.qd; ++t) {
      if (!pending[t] || !src.Done(t)) continue;
      pending[t] = false;
      const int res = src.ResultOf(t);
      ++out.completed;
      if (res < 0)
        ++out.errors;
      else
        out.bytes += static_cast<std::uint64_t>(res);
      ++done;
    }
    busy -= done;
    if (!stop && io::MonotonicNs() >= end) stop = true;
    if (stop) continue;
    for (unsigned i = 0; i < done; ++i) issue();
    busy += done;
  }
  out.ns = io::MonotonicNs() - t0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string file, rw = "randread", backend_name = "file";
  std::uint32_t bs = 4096;
  std::uint16_t qd = 32;
  double seconds = 5, warmup = 0.5;
  std::uint64_t size = 0;
  std::string submit = "batch";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    if (a == "--file")
      file = val();
    else if (a == "--rw")
      rw = val();
    else if (a == "--bs")
      bs = static_cast<std::uint32_t>(std::stoul(val()));
    else if (a == "--qd")
      qd = static_cast<std::uint16_t>(std::stoul(val()));
    else if (a == "--seconds")
      seconds = std::stod(val());
    else if (a == "--warmup")
      warmup = std::stod(val());
    else if (a == "--size")
      size = std::stoull(val());
    else if (a == "--backend")
      backend_name = val();
    else if (a == "--submit")
      submit = val();
    else
      Usage();
  }
  if (bs == 0 || bs % 512 || bs > 1024 * 1024 || qd == 0 || seconds <= 0) Usage();
  if (rw != "randread" && rw != "randwrite" && rw != "read" && rw != "write") Usage();
  if (submit != "batch" && submit != "each") Usage();
  if (backend_name == "file" || size == 0) {
    if (file.empty()) Usage();
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) Die("stat " + file + ": " + std::strerror(errno));
    if (size == 0) size = static_cast<std::uint64_t>(st.st_size);
  }
  size -= size % bs;
  if (size < bs) Die("file too small");

  const io::VolumeLayout layout = bench::OneSegmentLayout(size);
  std::unique_ptr<io::Backend> backend;
  if (backend_name == "file") {
    Result r = io::OpenFileBackend(layout, {file}, io::FileBackendOptions{}, &backend);
    if (!r.ok()) Die(r.ToString());
  } else if (backend_name == "mem") {
    Result r = io::MakeMemBackend(size, &backend);
    if (!r.ok()) Die(r.ToString());
  } else if (backend_name == "null") {
    backend = io::MakeNullBackend();
  } else {
    Usage();
  }
  // O_DIRECT or not: the file backend decides at open; look at the fd's flags.
  bool direct = false;
  for (int fd : backend->fds()) direct = (::fcntl(fd, F_GETFL) & O_DIRECT) != 0;

  gate::GateWord gate;
  io::MemSourceConfig c;
  c.layout = &layout;
  c.backend = backend.get();
  c.gate = &gate;
  c.depth = qd;
  c.max_io_bytes = std::max<std::uint32_t>(4096, (bs + 4095) / 4096 * 4096);
  std::unique_ptr<io::MemRequestSource> src;
  if (Result r = io::MemRequestSource::Create(c, &src); !r.ok()) Die(r.ToString());

  io::LoadSpec spec;
  spec.op = (rw == "randread" || rw == "read") ? ublk::kOpRead : ublk::kOpWrite;
  spec.random = rw.rfind("rand", 0) == 0;
  spec.block_bytes = bs;
  spec.qd = qd;
  spec.requests = ~0ull;
  spec.seed = static_cast<std::uint64_t>(::getpid()) * 2654435761u + 1;
  auto run = [&] { return submit == "each" ? RunEach(*src, spec, size / bs) : src->RunLoad(spec); };
  if (warmup > 0) {
    spec.max_ns = static_cast<std::uint64_t>(warmup * 1e9);
    run();
  }
  spec.max_ns = static_cast<std::uint64_t>(seconds * 1e9);
  const io::LoadResult r = run();
  const double secs = static_cast<double>(r.ns) / 1e9;
  std::printf(
      "{\"engine\":\"blkgate\",\"submit\":\"%s\",\"backend\":\"%s\",\"rw\":\"%s\",\"bs\":%u,\"qd\":"
      "%u,"
      "\"direct\":%s,\"seconds\":%.3f,\"requests\":%llu,\"errors\":%llu,\"iops\":%.1f,"
      "\"mib_s\":%.2f,\"mean_lat_us\":%.2f}\n",
      submit.c_str(), backend_name.c_str(), rw.c_str(), bs, qd, direct ? "true" : "false", secs,
      static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.errors),
      static_cast<double>(r.completed) / secs, static_cast<double>(r.bytes) / secs / (1 << 20),
      r.completed ? secs * 1e6 * qd / static_cast<double>(r.completed) : 0.0);
  return r.errors ? 1 : 0;
}
