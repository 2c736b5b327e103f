// gate/control_server.h — the control socket: listening, peer credentials and roles, line
// framing and the lifecycle of client connections.
//
// Threads: Start() and Stop() on the main thread. One accept thread, and one thread per
// connection (at a lower priority than the queue threads, see DaemonOptions), all tracked and
// joined by Stop(): a quit eventfd wakes every thread blocked in poll(); a connection thread
// inside a call finishes that call first. No thread is detached. The handler is called on
// connection threads, concurrently.
#pragma once

#include <sys/types.h>

#include <functional>
#include <list>
#include <string>
#include <thread>

#include "blkgate/mutex.h"
#include "blkgate/ops.h"
#include "blkgate/protocol.h"
#include "blkgate/result.h"
#include "blkgate/unique_fd.h"
#include "thread_priority.h"

namespace blkgate {

// Who is on the other end of a connection: SO_PEERCRED, and the group list of SO_PEERGROUPS
// (the connecting process's own credentials: no user database lookup).
struct Peer {
  pid_t pid = 0;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  ops::Role role = ops::Role::none;  // root (uid 0), operator (in --group), else none
  std::string who;  // for messages: "uid 1000 is not root nor in group ops", "uid 1000 is in
                    // group ops"
};

struct ControlServerOptions {
  std::string socket_path;
  gid_t group = static_cast<gid_t>(-1);  // -1: root only (socket mode 0600), else 0660
  std::string group_name;                // for messages
  ThreadPriority connection_priority;    // applied by each connection thread
};

class ControlServer {
 public:
  // Answers one request line (already framed, without '\n') from peer.
  using Handler = std::function<protocol::Reply(const Peer& peer, std::string_view line)>;

  ControlServer(ControlServerOptions o, Handler handler)
      : o_(std::move(o)), handler_(std::move(handler)) {}
  ~ControlServer() { Stop(); }

  // Binds and listens (replacing a stale socket file) and starts the accept thread.
  Result Start();
  // Stops accepting, wakes and joins every thread, removes the socket file. Idempotent.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(UniqueFd fd);
  Peer Identify(int fd) const;
  // Reaps finished connection threads.
  void Reap() EXCLUDES(mu_);

  const ControlServerOptions o_;
  const Handler handler_;
  UniqueFd listen_;
  UniqueFd quit_;  // eventfd: readable once Stop() began
  std::thread acceptor_;
  struct Connection {
    std::thread thread;
    bool done = false;
  };
  Mutex mu_;
  std::list<Connection> connections_ GUARDED_BY(mu_);
  bool stopped_ = false;
};

}  // namespace blkgate
