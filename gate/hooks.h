// gate/hooks.h — running the hooks in DIR/hooks on state transitions, and the tokens that let
// the dispatcher recognise a control call made from inside a running hook (reentrant-call).
//
// Threads: Run() on a control thread (or the main thread for backend errors) under the
// dispatcher's control lock; HookTokens::Find() from any connection thread. Tokens have their
// own lock; nothing here touches the data path.
#pragma once

#include <sys/types.h>

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
  uid_t owner = 0;  // besides root, who may own the hooks dir and hooks (strict_modes.h)
};

class HookRunner {
 public:
  HookRunner(HookOptions o, HookTokens* tokens) : o_(std::move(o)), tokens_(tokens) {}
  // Runs every executable in the hooks dir, in name order. First the hooks dir and every hook
  // are judged by strict modes (strict_modes.h); when one is unsafe no hook runs: a pre_* event
  // fails with permission_denied naming it, a post event is logged and skipped. Hooks start
  // with stdin on /dev/null, stdout and stderr the daemon's and no other fd open, a minimal
  // environment (PATH=/usr/sbin:/usr/bin:/sbin:/bin, LANG=C, LC_ALL=C, and BLKGATE_EVENT,
  // _KIND, _NAME, _OBJECT, _STATE, _HOOK_TOKEN, _SOCKET), an empty signal mask and default
  // dispositions, at the normal scheduling class (the caller's nice value). For pre_* events
  // the first hook that fails, is killed or runs past the timeout vetoes: device_in_use naming
  // it (io_error when it cannot run). Post events never fail.
  Result Run(HookEvent e, Kind kind, const std::string& name, ResourceState state);

 private:
  const HookOptions o_;
  HookTokens* const tokens_;
};

}  // namespace blkgate
