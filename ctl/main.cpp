// blkgatectl — the control utility of blkgate. Parses argv (cli.h), makes at most one call to
// the daemon through blkgate::Client, prints the reply and exits with CodeExitStatus(); the
// live views (monitor, stats --watch) run their own loops (live.h).
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "blkgate/client.h"
#include "cli.h"
#include "live.h"
#include "path.h"

namespace {

using blkgate::Code;
using blkgate::Result;

// Protocol errors name the socket, so "daemon not running" is clear from the message alone.
Result NameSocket(Result r, const std::string& socket) {
  if (r.code() != Code::protocol_error || r.message().find(socket) != std::string::npos) return r;
  return Result::Error(r.code(), socket + ": " + r.message());
}

bool WriteAll(std::FILE* f, const std::string& s) {
  return std::fwrite(s.data(), 1, s.size(), f) == s.size() && std::fflush(f) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A daemon that goes away mid-call must give protocol-error, not kill us.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  const blkgate::ctl::Invocation inv = blkgate::ctl::Parse(args, blkgate::ctl::ResolvePath);

  if (blkgate::ctl::IsLive(inv))  // monitor, stats --watch: their own loops (live.h)
    return blkgate::ctl::RunLive(inv,
                                 inv.socket.empty() ? blkgate::DefaultSocketPath() : inv.socket);

  Result r;
  nlohmann::json data = nlohmann::json::object();
  std::vector<std::string> notes;
  if (inv.action == blkgate::ctl::Action::call) {
    const std::string socket = inv.socket.empty() ? blkgate::DefaultSocketPath() : inv.socket;
    std::unique_ptr<blkgate::Client> client;
    r = NameSocket(blkgate::Client::Connect(socket, &client, std::chrono::seconds(inv.timeout_s)),
                   socket);
    if (r.ok())
      r = NameSocket(client->Call(inv.request.op, inv.request.args, &data, &notes), socket);
    if (!data.is_object()) data = nlohmann::json::object();
  } else if (inv.action == blkgate::ctl::Action::local) {
    data = blkgate::ctl::LocalReply(inv);
  }

  const blkgate::ctl::Output out = blkgate::ctl::Render(inv, r, data, notes);
  const bool out_ok = WriteAll(stdout, out.out);
  WriteAll(stderr, out.err);
  if (!out_ok && out.status == 0) {
    WriteAll(stderr, "blkgatectl: io-error: cannot write to stdout\n");
    return blkgate::CodeExitStatus(Code::io_error);
  }
  return out.status;
}
