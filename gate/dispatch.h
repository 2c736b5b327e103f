// gate/dispatch.h — one control request to one reply: the operation registry (ops.h) finds the
// op, the caller's role (Peer::role) is checked against the op's (permission-denied naming
// both), its arguments are validated, the call claims the objects it works on, then runs on the
// Controller under the control lock.
//
// Locks, in order: mu_ (the control lock: the Controller, its Catalog and every effect; held
// for a whole call, possibly seconds while hooks run or I/O drains) before claims_mu_ (claims
// and the catalog snapshot they are computed from; held briefly, never while waiting for mu_).
// A call on a claimed object is refused at once (another-call-in-progress, or invalid-state
// for a resource call: the object is pending), and a call from inside a running hook is
// refused (reentrant-call): never a wait, never a deadlock. Queue threads take neither lock.
//
// Events: before each call the Controller is told its cause (the call and its op), so the
// state changes it commits are published as such (event_bus.h). A subscription (monitor) takes
// no lock but the bus's: it claims nothing and never waits for a call.
//
// Threads: Handle() on connection threads, concurrently; Locked() on the main thread (start,
// stop) and the daemon's backend-error thread.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "blkgate/controller.h"
#include "blkgate/mutex.h"
#include "blkgate/protocol.h"
#include "control_server.h"
#include "event_bus.h"
#include "hooks.h"

namespace blkgate {

class Dispatcher {
 public:
  // ctl and its catalog are used only under the control lock from now on.
  Dispatcher(Controller* ctl, const HookTokens* tokens) : ctl_(ctl), tokens_(tokens) {}

  // Where subscriptions (OpSpec::stream: monitor) are made; without one they get
  // not-supported. Set before the first call.
  void SetEventBus(EventBus* bus) { bus_ = bus; }

  // Decodes and answers one request line. Never throws. A subscription's ok reply comes with
  // its stream in *stream (ControlServer::Handler); without `stream` it gets not-supported.
  protocol::Reply HandleLine(const Peer& peer, std::string_view line,
                             std::unique_ptr<MessageStream>* stream = nullptr)
      EXCLUDES(mu_, claims_mu_);
  protocol::Reply Handle(const Peer& peer, const protocol::Request& req,
                         std::unique_ptr<MessageStream>* stream = nullptr)
      EXCLUDES(mu_, claims_mu_);

  // Runs fn(controller) under the control lock (start, backend errors, shutdown), then
  // refreshes the snapshot the claims are computed from.
  template <typename Fn>
  void Locked(Fn&& fn) EXCLUDES(mu_, claims_mu_) {
    MutexLock lock(&mu_);
    fn(*ctl_);
    Snapshot();
  }
  // From now on every call gets not-ready; a call already running finishes first.
  void Stop() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    stopping_ = true;
  }

 private:
  void Snapshot() REQUIRES(mu_) EXCLUDES(claims_mu_);

  Mutex mu_;
  Controller* const ctl_ PT_GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  const HookTokens* const tokens_;
  EventBus* bus_ = nullptr;

  Mutex claims_mu_ ACQUIRED_AFTER(mu_);
  std::set<std::string> claimed_ GUARDED_BY(claims_mu_);
  Catalog snapshot_ GUARDED_BY(claims_mu_);  // the catalog after the last call
};

}  // namespace blkgate
