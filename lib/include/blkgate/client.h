// blkgate/client.h — the control library: talk to a running blkgate daemon.
//
// Usage:
//   std::unique_ptr<blkgate::Client> c;
//   if (auto r = blkgate::Client::Connect(blkgate::DefaultSocketPath(), &c); !r) ...;
//   nlohmann::json data;
//   blkgate::Result r = c->Call("volume.offline", {{"name", "v0"}}, &data);
//
// Thread-safety: a Client is used by one thread at a time. No exceptions escape.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "blkgate/result.h"
#include "blkgate/unique_fd.h"

namespace blkgate {

// $BLKGATE_SOCKET, else /var/lib/blkgate/control.sock (the daemon's default state dir).
std::string DefaultSocketPath();

class Client {
 public:
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // protocol_error when nothing listens there; permission_denied when the socket refuses us.
  static Result Connect(const std::string& socket_path, std::unique_ptr<Client>* out);

  // Sends one request and waits for its reply. The reply's result is returned; its data object
  // is stored in *data when given, its notes (warnings of an ok call) in *notes. protocol_error
  // when the connection breaks.
  Result Call(std::string_view op, const nlohmann::json& args, nlohmann::json* data = nullptr,
              std::vector<std::string>* notes = nullptr);

 private:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;         // the connection; invalid once it broke
  std::string buffer_;  // bytes received past the last reply
};

}  // namespace blkgate
