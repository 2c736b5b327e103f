// ctl/event_render.cpp — `blkgatectl monitor`: one event message as one line. Pure.
//
//   2026-12-03T09:30:00.123Z volume/v0 online -> offline (call volume.offline)
//   2026-12-03T09:30:01.000Z drive/d0 online -> failed (backend-error)
//   2026-12-03T09:30:02.000Z volume/v0 online -> online (hook-veto volume.offline: refused offline:
//   ...) lost 12 events (through #345): blkgatectl did not read them in time
#include <ctime>

#include "live.h"

namespace blkgate::ctl {
namespace {

using nlohmann::json;

std::string Str(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string U64(const json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_number_unsigned() ? std::to_string(it->get<std::uint64_t>())
                                                   : std::string("?");
}

// UTC, ISO 8601 with milliseconds.
std::string Time(std::int64_t ms) {
  const std::time_t s = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", b, static_cast<int>(ms % 1000));
  return out;
}

}  // namespace

std::string EventLine(const json& event, bool as_json) {
  if (as_json) return event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  if (Str(event, "type") == "lost")
    return "lost " + U64(event, "count") + " events (through #" + U64(event, "seq") +
           "): blkgatectl did not read them in time\n";
  auto t = event.find("time_ms");
  std::string line = t != event.end() && t->is_number_integer() ? Time(t->get<std::int64_t>()) + " "
                                                                : std::string();
  line += Str(event, "kind") + "/" + Str(event, "name") + " " + Str(event, "old") + " -> " +
          Str(event, "new") + " (" + Str(event, "cause");
  if (const std::string op = Str(event, "op"); !op.empty()) line += " " + op;
  if (const std::string w = Str(event, "wanted"); !w.empty()) line += ": refused " + w;
  if (const std::string d = Str(event, "detail"); !d.empty()) line += ": " + d;
  return line + ")\n";
}

}  // namespace blkgate::ctl
