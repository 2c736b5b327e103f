// ctl/live.cpp — the loops of blkgatectl's live views (see live.h): `monitor` subscribes and
// prints each event as it comes; `stats --watch` asks for a sample every SECS seconds and
// prints the report against the one before. Output is flushed after every line or report, so
// a pipe (`blkgatectl monitor | grep ...`) sees each at once. Threads: blkgatectl's one.
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "blkgate/client.h"
#include "live.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

bool Write(const std::string& s) {
  return std::fwrite(s.data(), 1, s.size(), stdout) == s.size() && std::fflush(stdout) == 0;
}

int Fail(const Invocation& inv, const Result& r) {
  // The same shape as any failed call: a line on stderr, and the JSON object with --json.
  const Output o = Render(inv, r);
  std::fwrite(o.out.data(), 1, o.out.size(), stdout);
  std::fwrite(o.err.data(), 1, o.err.size(), stderr);
  return o.status;
}

std::uint64_t LocalNumber(const Invocation& inv, const char* key) {
  auto it = inv.local.find(key);
  return it != inv.local.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

Result Connect(const Invocation& inv, const std::string& socket, std::unique_ptr<Client>* c) {
  Result r = Client::Connect(socket, c, std::chrono::seconds(inv.timeout_s));
  if (!r.ok() && r.code() == Code::protocol_error && r.message().find(socket) == std::string::npos)
    return Result::Error(r.code(), socket + ": " + r.message());
  return r;
}

int Monitor(const Invocation& inv, const std::string& socket) {
  std::unique_ptr<Client> c;
  json data;
  Result r = Connect(inv, socket, &c);
  if (r.ok()) r = c->Call(inv.request.op, inv.request.args, &data);
  if (!r.ok()) return Fail(inv, r);
  // On stderr, once subscribed (as udevadm monitor's header): a script waits for this line
  // before it makes the changes it wants to see.
  std::fprintf(stderr, "blkgatectl: monitoring blkgate events from #%llu\n",
               static_cast<unsigned long long>(data.value("seq", std::uint64_t{0})));
  std::fflush(stderr);
  const std::uint64_t limit = LocalNumber(inv, "count");
  for (std::uint64_t n = 0; limit == 0 || n < limit;) {
    json event;
    // Events wait for something to happen: no timeout.
    if (Result e = c->NextEvent(&event); !e.ok()) return Fail(inv, e.Prefixed(socket));
    if (!Write(EventLine(event, inv.json))) return CodeExitStatus(Code::io_error);
    if (event.value("type", "") == "state") ++n;
  }
  return 0;
}

int WatchStats(const Invocation& inv, const std::string& socket) {
  const auto every = std::chrono::seconds(LocalNumber(inv, "watch"));
  const std::uint64_t limit = LocalNumber(inv, "count");
  std::unique_ptr<Client> c;
  if (Result r = Connect(inv, socket, &c); !r.ok()) return Fail(inv, r);
  json prev;
  auto next = std::chrono::steady_clock::now();
  for (std::uint64_t n = 0; limit == 0 || n < limit; ++n) {
    if (n > 0) {
      next += every;
      std::this_thread::sleep_until(next);
    }
    json now;
    if (Result r = c->Call(inv.request.op, inv.request.args, &now); !r.ok()) return Fail(inv, r);
    const nlohmann::ordered_json report = StatsReport(n > 0 ? &prev : nullptr, now);
    std::string text;
    if (inv.json) {
      text = StatsJsonLine(report);
    } else {
      text = (n > 0 ? "\n" : "") + StatsTable(report);
    }
    if (!Write(text)) return CodeExitStatus(Code::io_error);
    prev = std::move(now);
  }
  return 0;
}

}  // namespace

bool IsLive(const Invocation& inv) {
  if (inv.action != Action::call || !inv.op) return false;
  return inv.op->stream ||
         (inv.op->printer == ops::Printer::stats && LocalNumber(inv, "watch") > 0);
}

int RunLive(const Invocation& inv, const std::string& socket) {
  try {
    if (inv.op->stream) return Monitor(inv, socket);
    if (inv.local.value("prometheus", false))
      return Fail(inv, Result::InvalidArgument(
                           "stats: --prometheus and --watch do not go together (the textfile "
                           "collector reads one file: run stats --prometheus from a timer)"));
    return WatchStats(inv, socket);
  } catch (const std::exception& e) {
    return Fail(inv, Result::ProtocolError(std::string("cannot print the reply: ") + e.what()));
  }
}

}  // namespace blkgate::ctl
