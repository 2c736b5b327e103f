#include "blkgate/protocol.h"

#include "json_parse.h"

namespace blkgate::protocol {
namespace {

using nlohmann::json;

// Parses one JSON object line within the size and depth limits and checks the version field.
Result ParseObject(std::string_view line, json* out) {
  json j;
  if (Result r = ParseJsonLimited(line, {kMaxMessage, kMaxDepth}, &j); !r.ok())
    return Result::ProtocolError("message " + r.message());
  if (!j.is_object()) return Result::ProtocolError("message is not a JSON object");
  auto v = j.find("v");
  // Exactly the integer 1: no float, no wrap-around of a larger number.
  if (v == j.end() || !v->is_number_integer() || v->get<std::int64_t>() != kVersion)
    return Result::ProtocolError("unsupported protocol version (expected \"v\": 1)");
  *out = std::move(j);
  return Result::Ok();
}

}  // namespace

bool IsValidUtf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    // Length and smallest code point of the sequence a lead byte opens (0xC0, 0xC1 and
    // 0xF5.. open none: they could only start overlong or out-of-range forms).
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      len = 2, cp = b & 0x1F, min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
      len = 3, cp = b & 0x0F, min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
      len = 4, cp = b & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string Encode(const Request& r) {
  json j = {{"v", kVersion}, {"op", r.op}, {"args", r.args}};
  if (!r.hook.empty()) j["hook"] = r.hook;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string Encode(const Reply& r) {
  json j = {{"v", kVersion},
            {"result", r.result.name()},
            {"message", r.result.message()},
            {"data", r.data}};
  if (!r.notes.empty()) j["notes"] = r.notes;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string EncodeEvent(const json& event) {
  const json j = {{"v", kVersion}, {"event", event}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result DecodeEvent(std::string_view line, json* event) {
  json j;
  BLKGATE_TRY(ParseObject(line, &j));
  auto e = j.find("event");
  if (e == j.end() || !e->is_object())
    return Result::ProtocolError("message has no \"event\" object");
  auto type = e->find("type");
  if (type == e->end() || !type->is_string())
    return Result::ProtocolError("event has no \"type\" string");
  *event = std::move(*e);
  return Result::Ok();
}

Result Decode(std::string_view line, Request* out) {
  json j;
  BLKGATE_TRY(ParseObject(line, &j));
  auto op = j.find("op");
  if (op == j.end() || !op->is_string())
    return Result::ProtocolError("request has no \"op\" string");
  Request r;
  r.op = op->get<std::string>();
  if (auto a = j.find("args"); a != j.end()) {
    if (!a->is_object()) return Result::ProtocolError("request \"args\" is not an object");
    r.args = std::move(*a);
  }
  if (auto h = j.find("hook"); h != j.end()) {
    if (!h->is_string()) return Result::ProtocolError("request \"hook\" is not a string");
    r.hook = h->get<std::string>();
  }
  *out = std::move(r);
  return Result::Ok();
}

Result Decode(std::string_view line, Reply* out) {
  json j;
  BLKGATE_TRY(ParseObject(line, &j));
  auto res = j.find("result");
  if (res == j.end() || !res->is_string())
    return Result::ProtocolError("reply has no \"result\" string");
  auto code = CodeFromName(res->get<std::string>());
  if (!code)
    return Result::ProtocolError("reply has unknown result '" + res->get<std::string>() + "'");
  std::string message;
  if (auto m = j.find("message"); m != j.end()) {
    if (!m->is_string()) return Result::ProtocolError("reply \"message\" is not a string");
    message = m->get<std::string>();
  }
  Reply r;
  r.result = Result(*code, std::move(message));
  if (auto d = j.find("data"); d != j.end()) {
    if (!d->is_object()) return Result::ProtocolError("reply \"data\" is not an object");
    r.data = std::move(*d);
  }
  if (auto n = j.find("notes"); n != j.end()) {
    if (!n->is_array()) return Result::ProtocolError("reply \"notes\" is not a list");
    for (const json& e : *n) {
      if (!e.is_string()) return Result::ProtocolError("reply \"notes\" is not a list of strings");
      r.notes.push_back(e.get<std::string>());
    }
  }
  *out = std::move(r);
  return Result::Ok();
}

}  // namespace blkgate::protocol
