// ctl/cli.h — blkgatectl's command line: argv -> protocol request (cli.cpp), and reply -> output
// text (render.cpp), both driven by the operation registry (blkgate/ops.h): its verbs,
// arguments, help, printers.
//
// Pure: no I/O here (path resolution is injected), so the whole CLI is unit-tested natively.
// ctl/main.cpp does the socket call and writes the Output. No exceptions escape these functions.
//
//   Invocation inv = Parse(args, ResolvePath);
//   if (inv.action == Action::call) { r = client->Call(inv.request.op, inv.request.args, &data); }
//   Output o = Render(inv, r, data);   // for help/usage errors: Render(inv)
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "blkgate/ops.h"
#include "blkgate/protocol.h"
#include "blkgate/result.h"

namespace blkgate::ctl {

inline constexpr std::string_view kProgram = "blkgatectl";  // in messages

enum class Action {
  call,   // send `request` to the daemon
  help,   // print `help` on stdout, exit 0
  error,  // bad input found before any call: `error` (always invalid_argument)
  local,  // answered without the daemon: Render(inv, Ok, LocalReply(inv))
};

struct Invocation {
  Action action = Action::error;
  bool json = false;          // --json
  std::string socket;         // --socket PATH; empty: blkgate::DefaultSocketPath()
  unsigned timeout_s = 60;    // --timeout SECS: connecting, and the call; 0: forever
  protocol::Request request;  // action == call
  // blkgatectl's own options of the verb (ArgSpec::local, e.g. stats --watch), by key: never
  // sent. Flags are always present (false when not given).
  nlohmann::json local = nlohmann::json::object();
  const ops::OpSpec* op = nullptr;  // action == call or local: the registry's entry
  std::string help;                 // action == help
  Result error;                     // action == error
  bool show_usage = false;          // action == error and no verb at all: print the usage on stderr
};

// Turns a path typed by the user into an absolute one the daemon can use from its own cwd.
// `directory` is true for access paths (mount points), false for drive backing stores.
using PathResolver = std::function<Result(std::string_view path, bool directory, std::string* out)>;

// args excludes argv[0]. Never fails: problems come back as Action::error with a one-line
// message naming the problem ("volume create: bad size '1X' for --size").
Invocation Parse(const std::vector<std::string>& args, const PathResolver& resolve);

// The global usage text (what `blkgatectl --help` prints).
std::string Usage();

// The reply data of a local verb (`results`: every result name, exit status and meaning).
nlohmann::json LocalReply(const Invocation& inv);

// Columns separated by two spaces, each as wide as its widest cell; the last is not padded.
std::string Table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);

struct Output {
  std::string out;  // for stdout
  std::string err;  // for stderr
  int status = 0;   // process exit status
};

// The complete output of one invocation. For Action::call pass the call's result and the reply
// data; otherwise `r`/`data` are ignored. Non-ok results give "blkgatectl: NAME: message\n" on
// stderr and exit CodeExitStatus(code); with --json stdout holds exactly one JSON object
// (one line): "result", "message", then the data members.
// Notes (warnings of an ok call) go to stderr as "blkgatectl: note: ..." lines, and into the
// JSON object as "notes".
Output Render(const Invocation& inv, const Result& r = Result::Ok(),
              const nlohmann::json& data = nlohmann::json::object(),
              const std::vector<std::string>& notes = {});

}  // namespace blkgate::ctl
