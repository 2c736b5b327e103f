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
