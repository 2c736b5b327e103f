// gate/hooks.h — running the hooks in DIR/hooks on state transitions, and the tokens that let
// the dispatcher recognise a control call made from inside a running hook (reentrant-call).
//
// Threads: Run() on a control thread (or the main thread for backend errors) under the
// dispatcher's control lock; HookTokens::Find() from any connection thread. Tokens have their
// own lock; nothing here touches the data path.
#pragma once

#include <map>
#include <string>

#include "blkgate/controller.h"
#include "blkgate/mutex.h"

namespace blkgate {

// Tokens of the hooks running now; a control call carrying one is a reentrant call.
class HookTokens {
 public:
  void Add(const std::string& token, std::string what) EXCLUDES(mu_);
  void Remove(const std::string& token) EXCLUDES(mu_);
  // The description of the running hook holding `token`, or empty.
  std::string Find(const std::string& token) const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<std::string, std::string> active_ GUARDED_BY(mu_);
};

struct HookOptions {
  std::string dir;          // DIR/hooks
  std::string socket_path;  // passed to hooks as BLKGATE_SOCKET
  unsigned timeout_s = 30;
};

class HookRunner {
 public:
  HookRunner(HookOptions o, HookTokens* tokens) : o_(std::move(o)), tokens_(tokens) {}
  // Runs every executable in the hooks dir, in name order, with BLKGATE_EVENT, _KIND, _NAME,
  // _OBJECT, _STATE, _HOOK_TOKEN and _SOCKET set, a clean signal mask and default signal
  // dispositions, at the normal scheduling class (the caller's nice value). For pre_* events
  // the first hook that fails, is killed or runs past the timeout vetoes: device_in_use naming
  // it (io_error when it cannot run). Post events never fail.
  Result Run(HookEvent e, Kind kind, const std::string& name, ResourceState state);

 private:
  const HookOptions o_;
  HookTokens* const tokens_;
};

}  // namespace blkgate
