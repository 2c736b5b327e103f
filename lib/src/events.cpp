// lib/src/events.cpp — state-change events as JSON (events.h). Pure; any thread.
#include "blkgate/events.h"

#include <array>

#include "blkgate/enum_names.h"

namespace blkgate {

constexpr std::array<std::string_view, 4> kEventCauseNames = {"call", "backend-error", "hook-veto",
                                                              "recovery"};

std::string_view ToString(EventCause c) noexcept {
  return NameOf(kEventCauseNames, c);
}

Result ParseEventCause(std::string_view s, EventCause* out) {
  return ParseByName(s, kEventCauseNames, "event cause", out);
}

nlohmann::json ToJson(const Event& e) {
  nlohmann::json j = {{"type", "state"},      {"seq", e.seq},
                      {"time_ms", e.time_ms}, {"kind", e.kind},
                      {"name", e.name},       {"old", e.old_state},
                      {"new", e.new_state},   {"cause", ToString(e.cause)}};
  if (!e.op.empty()) j["op"] = e.op;
  if (!e.wanted.empty()) j["wanted"] = e.wanted;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j;
}

Result FromJson(const nlohmann::json& j, Event* out) {
  if (!j.is_object()) return Result::InvalidArgument("event is not an object");
  Event e;
  auto str = [&](const char* key, std::string* v, bool required) {
    auto it = j.find(key);
    if (it == j.end())
      return required ? Result::InvalidArgument(std::string("event: missing ") + key)
                      : Result::Ok();
    if (!it->is_string())
      return Result::InvalidArgument(std::string("event: ") + key + " is not a string");
    *v = it->get<std::string>();
    return Result::Ok();
  };
  std::string type, cause;
  BLKGATE_TRY(str("type", &type, true));
  if (type != "state") return Result::InvalidArgument("event: type '" + type + "' is not 'state'");
  BLKGATE_TRY(str("kind", &e.kind, true));
  BLKGATE_TRY(str("name", &e.name, true));
  BLKGATE_TRY(str("old", &e.old_state, true));
  BLKGATE_TRY(str("new", &e.new_state, true));
  BLKGATE_TRY(str("cause", &cause, true));
  BLKGATE_TRY(ParseEventCause(cause, &e.cause));
  BLKGATE_TRY(str("op", &e.op, false));
  BLKGATE_TRY(str("wanted", &e.wanted, false));
  BLKGATE_TRY(str("detail", &e.detail, false));
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned())
    return Result::InvalidArgument("event: seq is not a non-negative integer");
  e.seq = seq->get<std::uint64_t>();
  auto t = j.find("time_ms");
  if (t == j.end() || !t->is_number_integer())
    return Result::InvalidArgument("event: time_ms is not an integer");
  e.time_ms = t->get<std::int64_t>();
  *out = std::move(e);
  return Result::Ok();
}

nlohmann::json LostNotice(std::uint64_t count, std::uint64_t last_seq) {
  return {{"type", "lost"}, {"count", count}, {"seq", last_seq}};
}

}  // namespace blkgate
