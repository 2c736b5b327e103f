// gate/dispatch.cpp — requests to replies through the operation registry (see dispatch.h).
#include "dispatch.h"

#include <cerrno>
#include <exception>
#include <new>

#include "blkgate/ops.h"

namespace blkgate {

protocol::Reply Dispatcher::HandleLine(const Peer& peer, std::string_view line,
                                       std::unique_ptr<MessageStream>* stream) {
  protocol::Reply reply;
  protocol::Request req;
  if (peer.role == ops::Role::none) {
    reply.result = Result::PermissionDenied(peer.who);
  } else if (Result r = protocol::Decode(line, &req); !r.ok()) {
    reply.result = r;
  } else {
    reply = Handle(peer, req, stream);
  }
  return reply;
}

void Dispatcher::Snapshot() {
  const Catalog& now = ctl_->catalog();
  MutexLock lock(&claims_mu_);
  snapshot_ = now;
}

protocol::Reply Dispatcher::Handle(const Peer& peer, const protocol::Request& req,
                                   std::unique_ptr<MessageStream>* stream) {
  protocol::Reply reply;
  // A call from inside a hook would wait for the call that runs the hook: refuse it.
  if (!req.hook.empty()) {
    if (std::string what = tokens_->Find(req.hook); !what.empty()) {
      reply.result =
          Result::ReentrantCall("control calls are refused from inside a hook (" + what + ")");
      return reply;
    }
  }
  const ops::OpSpec* op = ops::Find(req.op);
  if (!op) {
    reply.result = Result::InvalidArgument("unknown operation '" + req.op + "'");
    return reply;
  }
  if (op->local) {
    reply.result = Result::InvalidArgument("operation '" + req.op +
                                           "' is answered by blkgatectl, not the daemon");
    return reply;
  }
  if (peer.role < op->role) {
    reply.result = Result::PermissionDenied(
        "operation '" + req.op + "' needs the " + std::string(ops::ToString(op->role)) +
        " role: " + peer.who + " (the " + std::string(ops::ToString(peer.role)) + " role)");
    return reply;
  }
  ops::Args args;
  if (Result r = ops::Validate(*op, req.args, &args); !r.ok()) {
    reply.result = r;
    return reply;
  }
  if (op->stream) {
    if (!bus_ || !stream) {
      reply.result = Result::NotSupported("operation '" + req.op + "' needs a stream connection");
      return reply;
    }
    std::uint64_t next_seq = 0;
    *stream = bus_->Subscribe(args.Flag("replay"), &next_seq);
    if (!*stream) {
      reply.result = Result::FromErrno(errno, "subscribe: eventfd");
      return reply;
    }
    reply.data = {{"seq", next_seq}};
    return reply;
  }
  // Claim the objects the call works on, or refuse at once.
  std::vector<std::string> claims;
  {
    MutexLock lock(&claims_mu_);
    claims = ops::ClaimsOf(*op, args, snapshot_);
    for (const auto& key : claims) {
      if (claimed_.count(key)) {
        reply.result = op->claim == ops::ClaimRule::resource
                           ? Result::InvalidState(key + " is pending: another call is changing it")
                           : Result::AnotherCallInProgress("another call is in progress on " + key);
        return reply;
      }
    }
    claimed_.insert(claims.begin(), claims.end());
  }
  {
    MutexLock lock(&mu_);
    if (stopping_) {
      reply.result = Result::NotReady("the daemon is stopping");
    } else {
      ops::Call call{args, *ctl_, &reply.data};
      ctl_->SetEventCause(EventCause::call, std::string(op->name));
      try {
        reply.result = op->run(call);
      } catch (const std::bad_alloc&) {
        reply.result = Result::IoError("out of memory");
      } catch (const std::exception& e) {  // a bug: never take the daemon down with it
        reply.result = Result::IoError(std::string("internal error: ") + e.what());
      }
      reply.notes = ctl_->TakeNotes();
      if (!reply.result.ok()) reply.data = nlohmann::json::object();
    }
    Snapshot();
    MutexLock claims_lock(&claims_mu_);
    for (const auto& key : claims) claimed_.erase(key);
  }
  return reply;
}

}  // namespace blkgate
