// gate/ublk_queue.cpp — see ublk_queue.h.
#include "ublk_queue.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fault_point.h"
#include "heartbeat.h"
#include "io_log.h"
#include "io_ring.h"
#include "io_userdata.h"
#include "ublk_abi.h"

namespace blkgate::ublk {

namespace {

constexpr int kCharSlot = 0;  // fixed-file slot of /dev/ublkcN; backing files follow
constexpr int kRun = 0, kExit = 1, kLeave = 2;  // UblkQueue::exit_mode_

unsigned RoundUpPow2(unsigned v) {
  unsigned p = 1;
  while (p < v) p <<= 1;
  return p;
}

// BLKGATE_TEST_ZC_BUSY_EVERY (tests only): occupy the auto-registration index of every Nth
// tag; 0 (unset, empty or not a number): none.
unsigned TestBusyEvery() {
  const char* v = std::getenv("BLKGATE_TEST_ZC_BUSY_EVERY");
  if (!v || !*v) return 0;
  const unsigned long n = std::strtoul(v, nullptr, 10);
  return n <= 0xffff ? static_cast<unsigned>(n) : 0;
}

}  // namespace

// Everything the queue thread uses: created on the thread, freed by Join() once the thread has
// exited (see UblkQueue::runner_).
class QueueRunner final : public io::IoCompletionSink {
 public:
  QueueRunner(const UblkQueueConfig& cfg, int wake_fd, const std::atomic<int>& exit_mode)
      : cfg_(cfg), wake_fd_(wake_fd), exit_mode_(exit_mode) {}

  int Setup() noexcept {
    const unsigned entries = RoundUpPow2(std::max(2u * cfg_.depth, 64u));
    int r = ring_.InitQueue(entries, entries * 4);
    if (r < 0) return Fail(r, "io_uring setup");
    std::vector<int> fds{cfg_.char_fd};
    for (int fd : cfg_.handler.backend->fds()) fds.push_back(fd);
    r = io_uring_register_files(ring_.get(), fds.data(), static_cast<unsigned>(fds.size()));
    if (r < 0) return Fail(r, "register files");

    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t len = desc_map_size(cfg_.depth, page);
    void* d = ::mmap(nullptr, len, PROT_READ, MAP_SHARED | MAP_POPULATE, cfg_.char_fd,
                     static_cast<off_t>(desc_map_offset(cfg_.q_id, page)));
    if (d == MAP_FAILED) return Fail(-errno, "mmap io descriptors");
    descs_map_ = io::Mapping(d, len);
    descs_ = static_cast<const ublksrv_io_desc*>(d);

    if (cfg_.zero_copy) {
      r = SetupFixedBuffers();
      if (r < 0) return r;
    } else {
      bufs_ = io::Mapping::Anonymous(std::size_t{cfg_.depth} * cfg_.max_io_bytes);
      if (!bufs_.valid()) return Fail(-errno, "request buffers");
    }

    handler_ = std::make_unique<io::IoHandler>(cfg_.handler, ring_.get(), this);

    ArmWake();
    for (std::uint16_t tag = 0; tag < cfg_.depth; ++tag)
      if (!QueueCmd(kIoFetchReq, tag, 0)) return Fail(-EBUSY, "queue FETCH_REQ");
    r = io_uring_submit(ring_.get());
    if (r < 0) return Fail(r, "submit FETCH_REQ");
    return 0;
  }

  // Returns 0 on a clean exit, -errno when a ublk command failed unexpectedly.
  int Loop() noexcept {
    io_uring* ring = ring_.get();
    gate::QueueSync& sync = *cfg_.handler.sync;
    int error = 0;
    sync.enter();
    for (;;) {
      sync.leave();
      int r = io_uring_submit_and_wait(ring, 1);
      sync.enter();
      if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
        io::LogLine("queue %u: io_uring_enter: %s", cfg_.q_id, std::strerror(-r));
        error = r;
        break;
      }
      unsigned head;
      unsigned n = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(ring, head, cqe) {
        const std::uint64_t ud = cqe->user_data;
        switch (io::ud_kind(ud)) {
          case io::UdKind::ublk_cmd:
            OnCommand(io::ud_tag(ud), cqe->res);
            break;
          case io::UdKind::ublk_reg:
            OnRegistration(io::ud_tag(ud), io::ud_sub(ud), cqe->res);
            break;
          case io::UdKind::wake:
            OnWake();  // RequestExit() (checked below) or the watchdog's ping
            break;
          default:
            if (!handler_->HandleCqe(ud, cqe->res))
              io::LogLine("queue %u: unexpected completion %#llx res %d", cfg_.q_id,
                          static_cast<unsigned long long>(ud), cqe->res);
        }
        ++n;
      }
      io_uring_cq_advance(ring, n);
      handler_->AfterBatch();
      if (handler_->backend_inflight() == 0 && registering_ == 0 &&
          (dead_ == cfg_.depth || MayExit()))
        break;
    }
    io_uring_submit(ring);  // commits of the last batch, if any
    sync.leave();
    if (error == 0 && failed_cmds_ > 0) error = -EIO;
    return error;
  }

  // The handler finished a request: commit its result and fetch the tag's next request (a
  // buffer registered by hand is unregistered first).
  void Complete(std::uint16_t tag, int result) noexcept override {
    if (cfg_.zero_copy && by_hand_[tag]) [[unlikely]] {
      by_hand_[tag] = false;
      // The unregister and the commit go in the same submission (the link must not break).
      if (io_uring_sq_space_left(ring_.get()) < 2) io_uring_submit(ring_.get());
      if (!QueueRegistration(kIoUnregisterIoBuf, tag, 1, IOSQE_IO_HARDLINK))
        io::LogLine("queue %u tag %u: no SQE for UNREGISTER_IO_BUF", cfg_.q_id, tag);
    }
    if (!QueueCmd(kIoCommitAndFetchReq, tag, result))
      io::LogLine("queue %u tag %u: no SQE for COMMIT_AND_FETCH_REQ", cfg_.q_id, tag);
  }

  ~QueueRunner() {
    // Ring first: it still references the buffers and the descriptor mapping.
    handler_.reset();
    ring_.reset();
  }

 private:
  int Fail(int err, const char* what) noexcept {
    io::LogLine("queue %u: %s: %s", cfg_.q_id, what, std::strerror(-err));
    return err;
  }

  bool MayExit() const noexcept {
    switch (exit_mode_.load(std::memory_order_acquire)) {
      case kRun:
        return false;
      case kExit:
        return handler_->busy() == 0;
      case kLeave:
        return handler_->busy() == handler_->parked();
    }
    return false;
  }

  void* Buf(std::uint16_t tag) const noexcept {
    return static_cast<char*>(bufs_.get()) + std::size_t{tag} * cfg_.max_io_bytes;
  }

  // Zero copy: the sparse buffer table (auto registration at [0, depth), by hand at
  // [depth, 2 depth)), and the test knob's occupied indexes.
  int SetupFixedBuffers() noexcept {
    int r = io_uring_register_buffers_sparse(ring_.get(), 2u * cfg_.depth);
    if (r < 0) return Fail(r, "zero copy: sparse buffer table");
    by_hand_.assign(cfg_.depth, false);
    const unsigned every = TestBusyEvery();
    if (every == 0) return 0;
    test_buf_ = io::Mapping::Anonymous(4096);
    if (!test_buf_.valid()) return Fail(-errno, "test buffer");
    // One update over [0, depth): a {nullptr, 0} entry leaves its index empty.
    std::vector<iovec> iov(cfg_.depth, iovec{nullptr, 0});
    for (unsigned t = 0; t < cfg_.depth; t += every) iov[t] = iovec{test_buf_.get(), 4096};
    std::vector<__u64> tags(cfg_.depth, 0);
    r = io_uring_register_buffers_update_tag(ring_.get(), 0, iov.data(), tags.data(), cfg_.depth);
    if (r < 0) return Fail(r, "zero copy: occupy test indexes");
    io::LogLine(
        "queue %u: zero copy: the indexes of tags 0, %u, %u, ... occupied "
        "(BLKGATE_TEST_ZC_BUSY_EVERY)",
        cfg_.q_id, every, 2 * every);
    return 0;
  }

  bool QueueCmd(std::uint32_t op, std::uint16_t tag, int result) noexcept {
    io_uring_sqe* sqe = io::GetSqe(ring_.get());
    if (!sqe) return false;
    io::PrepUringCmd(sqe, false, kCharSlot, true, op, io::encode_ud(io::UdKind::ublk_cmd, tag));
    auto* c = static_cast<ublksrv_io_cmd*>(io::SqeCmd(sqe));
    c->q_id = cfg_.q_id;
    c->tag = tag;
    c->result = result;
    if (cfg_.zero_copy) {
      // ublksrv_io_cmd.addr stays 0; the registration request rides in the SQE's addr.
      sqe->addr = auto_buf_reg_addr(tag, kAutoBufRegFallback);
    } else {
      c->addr = reinterpret_cast<std::uintptr_t>(Buf(tag));
    }
    return true;
  }

  // REGISTER_IO_BUF / UNREGISTER_IO_BUF of request `tag`'s pages at index depth + tag.
  bool QueueRegistration(std::uint32_t op, std::uint16_t tag, std::uint8_t sub,
                         std::uint8_t link) noexcept {
    io_uring_sqe* sqe = io::GetSqe(ring_.get());
    if (!sqe) return false;
    io::PrepUringCmd(sqe, false, kCharSlot, true, op,
                     io::encode_ud(io::UdKind::ublk_reg, tag, sub));
    sqe->flags |= link;
    auto* c = static_cast<ublksrv_io_cmd*>(io::SqeCmd(sqe));
    c->q_id = cfg_.q_id;
    c->tag = tag;
    c->addr = std::uint64_t{cfg_.depth} + tag;
    return true;
  }

  // A request delivered without its automatic registration: register it by hand, then serve.
  void RegisterByHand(std::uint16_t tag) noexcept {
    if (fallbacks_++ == 0)
      io::LogLine(
          "queue %u: zero copy: the kernel could not register tag %u's pages automatically; "
          "registering them by hand (logged once per queue)",
          cfg_.q_id, tag);
    if (!QueueRegistration(kIoRegisterIoBuf, tag, 0, 0)) {
      io::LogLine("queue %u tag %u: no SQE for REGISTER_IO_BUF", cfg_.q_id, tag);
      Complete(tag, -EIO);
      return;
    }
    ++registering_;
  }

  void OnRegistration(std::uint16_t tag, std::uint8_t sub, int res) noexcept {
    if (sub == 1) {  // UNREGISTER_IO_BUF before a commit
      if (res < 0)
        io::LogLine("queue %u tag %u: UNREGISTER_IO_BUF: %s", cfg_.q_id, tag, std::strerror(-res));
      return;
    }
    --registering_;
    if (res < 0) {
      io::LogLine("queue %u tag %u: REGISTER_IO_BUF: %s; the request fails", cfg_.q_id, tag,
                  std::strerror(-res));
      Complete(tag, -EIO);
      return;
    }
    by_hand_[tag] = true;
    SubmitRequest(tag, cfg_.depth + tag);
  }

  // Hands request `tag` (its descriptor as the kernel wrote it) to the handler; buf_index >= 0:
  // its pages are that fixed buffer.
  void SubmitRequest(std::uint16_t tag, int buf_index) noexcept {
    const ublksrv_io_desc d = descs_[tag];  // the kernel wrote it before completing the cmd
    io::IoRequest r;
    r.tag = tag;
    r.op = static_cast<std::uint8_t>(d.op_flags & 0xff);
    r.flags = d.op_flags >> 8;
    r.start_sector = d.start_sector;
    r.nr_sectors = d.nr_sectors;
    if (buf_index >= 0) {
      r.buf_index = buf_index;
    } else {
      r.buf = Buf(tag);
    }
    handler_->Submit(r);
  }

  void ArmWake() noexcept {
    io_uring_sqe* sqe = io::GetSqe(ring_.get());
    if (!sqe) return;
    io_uring_prep_poll_add(sqe, wake_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, io::encode_ud(io::UdKind::wake));
  }

  // The wake eventfd fired: drain it, answer the watchdog's ping (heartbeat.h) and poll it
  // again. Never per request: only when the control plane or the watchdog writes it.
  void OnWake() noexcept {
    std::uint64_t n;
    ssize_t r = ::read(wake_fd_, &n, sizeof n);  // non-blocking
    (void)r;
    if (TestQueueStuck()) [[unlikely]] {
      io::LogLine("queue %u: stuck on purpose (BLKGATE_TEST_STUCK_QUEUE)", cfg_.q_id);
      StuckForever();
    }
    heartbeat_.Acknowledge();
    ArmWake();
  }

 public:
  Heartbeat& heartbeat() noexcept { return heartbeat_; }

 private:
  void OnCommand(std::uint16_t tag, int res) noexcept {
    if (res == kIoResOk) [[likely]] {
      if (!cfg_.zero_copy) {
        SubmitRequest(tag, -1);
      } else if ((descs_[tag].op_flags >> 8) & kIoFlagNeedRegBuf) [[unlikely]] {
        RegisterByHand(tag);
      } else {
        SubmitRequest(tag, tag);
      }
      return;
    }
    ++dead_;  // this tag gets no more requests
    if (res != -ENODEV) {
      ++failed_cmds_;
      io::LogLine("queue %u tag %u: ublk command failed: %s", cfg_.q_id, tag, std::strerror(-res));
    }
  }

  const UblkQueueConfig& cfg_;
  const int wake_fd_;
  const std::atomic<int>& exit_mode_;
  io::Ring ring_;
  io::Mapping descs_map_;
  const ublksrv_io_desc* descs_ = nullptr;
  io::Mapping bufs_;
  std::unique_ptr<io::IoHandler> handler_;
  std::uint32_t dead_ = 0;
  std::uint32_t failed_cmds_ = 0;
  // Zero copy's fallback: tags whose pages we registered by hand (unregister before commit),
  // registrations in flight, how many requests took it; the test knob's buffer.
  std::vector<bool> by_hand_;
  std::uint32_t registering_ = 0;
  std::uint64_t fallbacks_ = 0;
  io::Mapping test_buf_;
  Heartbeat heartbeat_;  // this thread's liveness, for the watchdog
};

void UblkQueue::SetState(int s) noexcept {
  state_.store(s, std::memory_order_release);
  state_.notify_all();
}

Result UblkQueue::Start() {
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return Result::FromErrno(errno, "queue " + std::to_string(cfg_.q_id) + ": eventfd");
  wake_fd_.reset(efd);
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    return Result::FromErrno(e.code().value(),
                             "queue " + std::to_string(cfg_.q_id) + ": start thread");
  }
  state_.wait(0, std::memory_order_acquire);
  const int s = state_.load(std::memory_order_acquire);
  if (s < 0) {
    Join();
    return Result::FromErrno(-s, "queue " + std::to_string(cfg_.q_id) + " setup");
  }
  return Result::Ok();
}

void UblkQueue::RequestExit() noexcept {
  Wake(kExit);
}

void UblkQueue::RequestLeave() noexcept {
  Wake(kLeave);
}

void UblkQueue::Wake(int mode) noexcept {
  exit_mode_.store(mode, std::memory_order_release);
  if (wake_fd_.valid()) {
    const std::uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_.get(), &one, sizeof one);
    (void)ignored;
  }
}

UblkQueue::UblkQueue(const UblkQueueConfig& cfg) : cfg_(cfg) {}

UblkQueue::~UblkQueue() {
  Join();
}

void UblkQueue::Join() noexcept {
  if (thread_.joinable()) thread_.join();
  runner_.reset();
}

void UblkQueue::Run() noexcept {
  // Signals belong to the process's control thread, never to a queue thread.
  sigset_t all;
  sigfillset(&all);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&all, s);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  char name[16];
  std::snprintf(name, sizeof name, "ublk%d-q%u", cfg_.dev_id, cfg_.q_id);
  pthread_setname_np(pthread_self(), name);
  if (int r = cfg_.priority.ApplyToCallingThread(); r < 0)
    io::LogLine("queue %u: cannot set the data path's scheduling priority: %s", cfg_.q_id,
                std::strerror(-r));

  if (cfg_.cpus && ::sched_setaffinity(0, sizeof *cfg_.cpus, &*cfg_.cpus) != 0)
    io::LogLine("queue %u: cannot set the queue thread's CPUs: %s", cfg_.q_id,
                std::strerror(errno));
  runner_ = std::make_unique<QueueRunner>(cfg_, wake_fd_.get(), exit_mode_);
  QueueRunner& q = *runner_;
  int r = q.Setup();
  if (r < 0) {
    SetState(r);
    return;
  }
  // Watched while its loop runs (heartbeat.h); a thread that ended is no longer a queue to
  // answer.
  Heartbeat& hb = q.heartbeat();
  hb.name = name;
  hb.wake_fd = wake_fd_.get();
  Heartbeats::Process().Add(&hb);
  SetState(1);
  r = q.Loop();
  Heartbeats::Process().Remove(&hb);
  SetState(r < 0 ? r : 2);
}

}  // namespace blkgate::ublk
