#include "blkgate/client.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "blkgate/protocol.h"

namespace blkgate {

std::string DefaultSocketPath() {
  if (const char* s = std::getenv("BLKGATE_SOCKET"); s && *s) return s;
  return "/var/lib/blkgate/control.sock";
}

Result Client::Connect(const std::string& path, std::unique_ptr<Client>* out) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Result::Error(Code::invalid_argument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Result::FromErrno(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == EACCES || err == EPERM)
      return Result::Error(Code::permission_denied,
                           "cannot connect to " + path + ": " + std::strerror(err));
    return Result::Error(Code::protocol_error, "cannot connect to the blkgate daemon at " + path +
                                                   ": " + std::strerror(err));
  }
  out->reset(new Client(std::move(fd)));
  return Result::Ok();
}

Result Client::Call(std::string_view op, const nlohmann::json& args, nlohmann::json* data,
                    std::vector<std::string>* notes) {
  if (!fd_.valid()) return Result::Error(Code::protocol_error, "connection closed");
  protocol::Request req;
  req.op = std::string(op);
  req.args = args.is_null() ? nlohmann::json::object() : args;
  if (const char* h = std::getenv("BLKGATE_HOOK_TOKEN"); h && *h) req.hook = h;
  const std::string wire = protocol::Encode(req);
  for (std::size_t off = 0; off < wire.size();) {
    ssize_t n = ::send(fd_.get(), wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Result::Error(Code::protocol_error,
                           std::string("sending to the daemon: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  std::size_t nl;
  while ((nl = buffer_.find('\n')) == std::string::npos) {
    if (buffer_.size() > protocol::kMaxMessage)
      return Result::Error(Code::protocol_error, "reply larger than 1 MiB");
    char buf[65536];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      fd_.reset();
      if (n == 0) {
        return Result::Error(Code::protocol_error, "the daemon closed the connection");
      }
      return Result::Error(Code::protocol_error,
                           std::string("receiving from the daemon: ") + std::strerror(err));
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  protocol::Reply reply;
  BLKGATE_TRY(protocol::Decode(line, &reply));
  if (data) *data = std::move(reply.data);
  if (notes) *notes = std::move(reply.notes);
  return reply.result;
}

}  // namespace blkgate
