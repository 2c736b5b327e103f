// fuzz/cli.cpp — libFuzzer target: blkgatectl's command line (ctl::Parse) and its output
// (ctl::Render) on any argument vector.
//
// The input is split at NUL bytes into argv (as a shell would never hand NUL to a program, no
// argument holds one). The path resolver does no I/O. Invariants: Parse never throws (nor
// catches an exception of its own) and always decides; a usage error is invalid_argument; a call's
// request encodes to one protocol line that decodes back to it, and the registry's own validation
// accepts its arguments or refuses them with a message; Render gives an exit status that matches
// the result, for the parsed invocation with an ok result and empty data as well as with an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "check.h"
#include "cli.h"

namespace {

using namespace blkgate;

// Relative paths go under /cwd (or /cwd/dir for directories); nothing is looked at.
Result ResolveWithoutIo(std::string_view path, bool directory, std::string* out) {
  if (path.empty()) return Result::InvalidArgument("empty path");
  *out =
      path[0] == '/' ? std::string(path) : (directory ? "/cwd/dir/" : "/cwd/") + std::string(path);
  return Result::Ok();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start <= in.size()) {
    const std::size_t end = std::min(in.find('\0', start), in.size());
    args.emplace_back(in.substr(start, end - start));
    start = end + 1;
  }
  if (size == 0) args.clear();
  const ctl::Invocation inv = ctl::Parse(args, ResolveWithoutIo);
  switch (inv.action) {
    case ctl::Action::error:  // a named usage error, not an exception Parse caught
      FUZZ_CHECK(inv.error.code() == Code::invalid_argument);
      FUZZ_CHECK(!inv.error.message().starts_with("internal error: "));
      FUZZ_CHECK(ctl::Render(inv).status == CodeExitStatus(Code::invalid_argument) ||
                 inv.show_usage);
      return 0;
    case ctl::Action::help:
      FUZZ_CHECK(!inv.help.empty() && ctl::Render(inv).status == 0);
      return 0;
    case ctl::Action::local:
      FUZZ_CHECK(inv.op != nullptr);
      FUZZ_CHECK(ctl::Render(inv, Result::Ok(), ctl::LocalReply(inv)).status == 0);
      return 0;
    case ctl::Action::call:
      break;
  }
  FUZZ_CHECK(inv.op != nullptr && inv.request.op == inv.op->name);
  const std::string wire = protocol::Encode(inv.request);
  if (wire.size() <= protocol::kMaxMessage) {
    protocol::Request back;
    FUZZ_CHECK(protocol::Decode(wire, &back).ok());
    FUZZ_CHECK(back.op == inv.request.op && back.args == inv.request.args);
  }
  ops::Args validated;
  const Result v = ops::Validate(*inv.op, inv.request.args, &validated);
  FUZZ_CHECK(v.ok() || !v.message().empty());  // the daemon would refuse it by name
  FUZZ_CHECK(ctl::Render(inv, Result::Ok(), nlohmann::json::object()).status == 0);
  const Result busy = Result::DeviceInUse("busy");
  FUZZ_CHECK(ctl::Render(inv, busy).status == CodeExitStatus(Code::device_in_use));
  return 0;
}
