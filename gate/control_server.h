// gate/control_server.h — the control socket: listening, peer credentials and roles, line
// framing, and the lifecycle of client connections, bounded so that no client can starve
// another.
//
// Bounds (ControlServerOptions):
// - at most max_clients connections, one of them kept for root: a non-root client that would
//   take the last free one gets a not-ready reply "too many clients" and is closed. A root
//   client that finds no free connection takes the place of the idle non-root connection whose
//   last request is the oldest (which gets a not-ready reply saying so); only when every
//   non-root connection is in a call is root refused too;
// - a client that is neither root nor in the group gets permission-denied at once and is
//   closed (the socket's mode normally keeps it out before that);
// - a connection that does not complete a request line within idle_timeout of connecting or
//   of its last reply is closed (not-ready "no request within N s" sent first, best effort);
// - a client that has not taken a reply within send_timeout is dropped, so a client that never
//   reads holds its own connection only, and never longer than that;
// - connections never take the descriptors the daemon needs for its own work (state file,
//   backing files, devices, hooks): the top eighth of RLIMIT_NOFILE as it is at Start (at least
//   32) is kept, and a client accepted on a descriptor there is treated as out of descriptors:
//   refused by name ("the daemon is out of file descriptors"), or for root, given an idle
//   connection's place;
// - when accept itself fails with EMFILE/ENFILE, a reserve descriptor is closed to accept the
//   waiting client, which is handled the same way; with no reserve left, accepting backs off
//   for 100 ms: never a busy loop.
// A call holds no lock of this file, so one client's call never waits for another's I/O.
//
// Threads: Start() and Stop() on the main thread. One accept thread, and one thread per
// connection (at most max_clients, plus a root client's while its evicted one winds down; at a
// lower priority than the queue threads, see DaemonOptions), all tracked and joined by Stop():
// a quit eventfd wakes every thread blocked in poll(); a connection thread inside a call
// finishes that call first. No thread is detached. The handler is called on connection threads,
// concurrently. mu_ guards the connection table; the accept thread and the connection threads
// take it briefly, never across a call, a send or a wait.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <list>
#include <memory>
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
  gid_t group = static_cast<gid_t>(-1);            // -1: root only (socket mode 0600), else 0660
  std::string group_name;                          // for messages
  ThreadPriority connection_priority;              // applied by each connection thread
  unsigned max_clients = 64;                       // connections at once, one of them kept for root
  std::chrono::milliseconds idle_timeout{60'000};  // to complete a request line; 0: none
  std::chrono::milliseconds send_timeout{10'000};  // for a client to take a reply
};

// A connection turned into a one-way stream (a subscription: monitor). The handler returns one
// with its ok reply; the server then sends what Take yields whenever wake_fd is readable, until
// the client closes the connection (anything it sends is read and ignored), Take returns false,
// the client takes a message no faster than --send-timeout (dropped), or the server stops. A
// subscribed connection is never idle-closed; it counts towards --max-clients and may be closed
// to make room for root like any idle connection. Methods are called on its connection thread.
class MessageStream {
 public:
  virtual ~MessageStream() = default;
  virtual int wake_fd() const = 0;
  // Appends the messages waiting (whole lines) to *wire; false when the stream has ended.
  virtual bool Take(std::string* wire) = 0;
};

class ControlServer {
 public:
  // Answers one request line (already framed, without '\n') from peer; may set *stream (only
  // with an ok reply) to turn the connection into that stream after the reply.
  using Handler = std::function<protocol::Reply(const Peer& peer, std::string_view line,
                                                std::unique_ptr<MessageStream>* stream)>;

  ControlServer(ControlServerOptions o, Handler handler)
      : o_(std::move(o)), handler_(std::move(handler)) {}
  ~ControlServer() { Stop(); }

  // Binds and listens (replacing a stale socket file) and starts the accept thread.
  Result Start();
  // Stops accepting, wakes and joins every thread, removes the socket file. Idempotent.
  void Stop();

 private:
  struct Connection {
    std::thread thread;
    UniqueFd fd;           // closed by its thread when it ends, under mu_
    bool root = false;     // never evicted
    bool busy = false;     // a call or its reply is under way: never evicted
    bool evicted = false;  // closed to make room for root: runs no more calls
    bool done = false;     // the thread has finished: Reap() joins it
    std::chrono::steady_clock::time_point last_request;  // or when it was accepted
  };

  // Logs one kind of event at most once per 10 s, with how many were not logged (a thousand
  // refused clients make one line, not a thousand). Any thread.
  class RateLimitedLog {
   public:
    void operator()(const std::string& message) EXCLUDES(mu_);

   private:
    Mutex mu_;
    std::chrono::steady_clock::time_point next_ GUARDED_BY(mu_);
    unsigned long suppressed_ GUARDED_BY(mu_) = 0;
  };

  void AcceptLoop();
  // Admits or refuses one accepted client. out_of_fds: it was accepted on the reserve
  // descriptor or one kept for the daemon, so it can stay only in an evicted connection's place.
  void Admit(UniqueFd fd, bool out_of_fds) EXCLUDES(mu_);
  // The idle non-root connection whose last request is the oldest, told why and shut down;
  // false when there is none.
  bool EvictForRoot() REQUIRES(mu_);
  void Serve(Connection* c) EXCLUDES(mu_);
  void ServeLines(Connection* c, int fd) EXCLUDES(mu_);
  // Sends the stream's messages until it ends, the client leaves or the server stops.
  void ServeStream(const Peer& peer, int fd, MessageStream* stream) EXCLUDES(mu_);
  Peer Identify(int fd) const;
  // Joins finished connection threads.
  void Reap() EXCLUDES(mu_);

  const ControlServerOptions o_;
  const Handler handler_;
  UniqueFd listen_;
  UniqueFd quit_;       // eventfd: readable once Stop() began
  UniqueFd reserve_;    // kept open to accept one client when out of descriptors (accept thread)
  int fd_ceiling_ = 0;  // accepted descriptors from here on are kept for the daemon (Start)
  std::thread acceptor_;
  Mutex mu_;
  std::list<Connection> connections_ GUARDED_BY(mu_);
  bool stopped_ = false;
  RateLimitedLog refusals_log_;  // too many clients, out of descriptors
  RateLimitedLog drops_log_;     // idle and slow clients closed
};

}  // namespace blkgate
