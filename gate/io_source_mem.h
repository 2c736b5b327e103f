// gate/io_source_mem.h — an in-process source of requests for the queue's request handler.
//
// Drives the very IoHandler a ublk queue uses, without ublk: the calling thread plays the
// queue thread (its own io_uring with the backing fds registered the same way, its own
// QueueSync and QueueStats). Used by the unit tests (Execute: one request at a time) and by
// benchmarks (RunLoad: a closed loop keeping `qd` requests in flight, re-submitting as each
// completes, like fio with a fixed iodepth).
//
// Grace periods: the source is inside its QueueSync window only while one of its methods
// runs and not blocked on the ring, so gate::synchronize() from another thread returns while
// the source is idle.
//
// Thread-safety: create and use on one thread (the ring is SINGLE_ISSUER).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "backend.h"
#include "blkgate/gate.h"
#include "blkgate/result.h"
#include "io_fd.h"
#include "io_handler.h"
#include "io_layout.h"
#include "io_ring.h"
#include "io_stats.h"

namespace blkgate::io {

struct MemSourceConfig {
  const VolumeLayout* layout = nullptr;  // REQUIRED, outlives the source
  Backend* backend = nullptr;            // REQUIRED, outlives the source
  gate::GateWord* gate = nullptr;        // REQUIRED, outlives the source
  std::uint16_t depth = 32;              // tags, and the most requests in flight
  std::uint32_t max_io_bytes = 512 * 1024;
  std::uint32_t park_timeout_ms = 30000;
  std::uint32_t park_recheck_ms = 5;
  const std::function<void(int, int)>* on_backend_error = nullptr;
};

struct LoadSpec {
  std::uint8_t op = 0;               // kOpRead or kOpWrite (see read_percent)
  int read_percent = -1;             // 0..100: mixed reads/writes; -1: all `op`
  std::uint32_t block_bytes = 4096;  // multiple of 512, <= max_io_bytes
  bool random = true;                // random block-aligned offsets, else sequential wrapping
  std::uint16_t qd = 32;             // <= depth
  std::uint64_t requests = 100000;   // stop after this many completions...
  std::uint64_t max_ns = 0;          // ...or after this long (0: no limit)
  std::uint64_t seed = 1;
};

struct LoadResult {
  std::uint64_t completed = 0;
  std::uint64_t errors = 0;  // completions with result < 0
  std::uint64_t bytes = 0;
  std::uint64_t ns = 0;
};

class MemRequestSource final : private IoCompletionSink {
 public:
  // Sets up the ring on the calling thread. invalid_argument for a bad config; io_error when
  // the ring, the file registration or the buffers fail.
  static Result Create(const MemSourceConfig& cfg, std::unique_ptr<MemRequestSource>* out);
  ~MemRequestSource();

  // One request through the handler, waiting up to timeout_ms for it (then returns -ETIMEDOUT
  // and the request stays in flight). WRITE copies nr_sectors * 512 bytes from `data`; READ
  // copies them to `data` on success. Returns the handler's result.
  int Execute(std::uint8_t op, std::uint64_t start_sector, std::uint32_t nr_sectors, void* data,
              std::uint32_t flags = 0, int timeout_ms = 10000);

  // Asynchronous use (tests of parking): Submit returns the tag used, or -EBUSY when every tag
  // is in flight. Poll runs one loop iteration, waiting up to timeout_ms when something is in
  // flight. Done/Result read a tag's state since its last Submit.
  int Submit(std::uint8_t op, std::uint64_t start_sector, std::uint32_t nr_sectors,
             const void* data = nullptr, std::uint32_t flags = 0);
  void Poll(int timeout_ms);
  bool Done(std::uint16_t tag) const { return state_[tag] == TagState::done; }
  int ResultOf(std::uint16_t tag) const { return result_[tag]; }
  void* Buffer(std::uint16_t tag) const;

  // Closed-loop load; see LoadSpec. REQUIRES: nothing else in flight.
  LoadResult RunLoad(const LoadSpec& spec);

  gate::QueueSync* sync() { return &sync_; }
  const QueueStats& stats() const { return stats_; }
  const IoHandler& handler() const { return *handler_; }

 private:
  enum class TagState : std::uint8_t { free, busy, done };
  explicit MemRequestSource(const MemSourceConfig& cfg);
  void Complete(std::uint16_t tag, int result) noexcept override;
  // Wait (leaving the grace-period window) for CQEs, handle them, then AfterBatch().
  void Iterate(int timeout_ms) noexcept;
  int AllocTag() noexcept;

  MemSourceConfig cfg_;
  Ring ring_;
  Mapping bufs_;
  gate::QueueSync sync_;
  QueueStats stats_;
  std::unique_ptr<IoHandler> handler_;
  std::unique_ptr<TagState[]> state_;
  std::unique_ptr<int[]> result_;
  std::unique_ptr<std::uint16_t[]> completed_;  // tags completed since the last drain
  std::uint32_t ncompleted_ = 0;
};

}  // namespace blkgate::io
