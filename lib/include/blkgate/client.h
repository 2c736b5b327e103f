// blkgate/client.h — the control library: talk to a running blkgate daemon.
//
// Usage:
//   std::unique_ptr<blkgate::Client> c;
//   if (auto r = blkgate::Client::Connect(blkgate::DefaultSocketPath(), &c, 60s); !r) ...;
//   nlohmann::json data;
//   blkgate::Result r = c->Call("volume.offline", {{"name", "v0"}}, &data);
//
// Thread-safety: a Client is used by one thread at a time. No exceptions escape.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "blkgate/result.h"
#include "blkgate/unique_fd.h"

namespace blkgate {

// $BLKGATE_SOCKET, else kServiceSocketPath when a socket is there (the systemd unit's), else
// /var/lib/blkgate/control.sock (the daemon's default).
std::string DefaultSocketPath();
inline constexpr const char* kServiceSocketPath = "/run/blkgate/control.sock";

class Client {
 public:
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // protocol_error when nothing listens there; permission_denied when the socket refuses us.
  // A non-zero timeout bounds connecting (a daemon that accepts nothing: protocol_error "... did
  // not accept the connection within N s") and then each Call: sending the request and
  // receiving the reply (protocol_error "no reply within N s"). Zero waits forever.
  static Result Connect(const std::string& socket_path, std::unique_ptr<Client>* out,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds::zero());

  // Sends one request and waits for its reply. The reply's result is returned; its data object
  // is stored in *data when given, its notes (warnings of an ok call) in *notes. protocol_error
  // when the connection breaks or the timeout passes. A daemon that refuses the connection
  // (too many clients) answers before the request is read: that answer is returned.
  Result Call(std::string_view op, const nlohmann::json& args, nlohmann::json* data = nullptr,
              std::vector<std::string>* notes = nullptr);

  // Subscriptions (an operation whose OpSpec::stream is set: "monitor"). After Call(op, ...)
  // returned ok, the connection carries only events: NextEvent waits for the next one (at
  // most `wait`; zero waits forever) and stores its "event" object: {"type": "state", ...}
  // (events.h FromJson reads it) or {"type": "lost", "count", "seq"}. protocol_error when the
  // daemon closes the connection (it stopped) or the wait passes ("no event within N s").
  //   c->Call("monitor", {}, &data);
  //   for (nlohmann::json e; c->NextEvent(&e).ok();) ...
  Result NextEvent(nlohmann::json* event,
                   std::chrono::milliseconds wait = std::chrono::milliseconds::zero());

 private:
  Client(UniqueFd fd, std::chrono::milliseconds timeout) : fd_(std::move(fd)), timeout_(timeout) {}
  // Sends all of wire by deadline; protocol_error naming the problem otherwise.
  Result Send(const std::string& wire, std::chrono::steady_clock::time_point deadline);
  // Takes one line from buffer_, receiving until it holds one or deadline passes (what is
  // already received is taken even past it); protocol_error naming the problem otherwise.
  Result ReadLine(std::chrono::steady_clock::time_point deadline, std::string* line);

  UniqueFd fd_;
  const std::chrono::milliseconds timeout_;
  std::string buffer_;  // bytes received past the last reply
};

}  // namespace blkgate
