// blkgate/protocol.h — the control protocol between blkgatectl (or any program) and the daemon.
//
// Transport: a SOCK_STREAM unix socket; each message is one line of JSON ending in '\n'.
//   request: {"v": 1, "op": "volume.offline", "args": {...}, "hook": "<token>"?}
//   reply:   {"v": 1, "result": "ok", "message": "...", "data": {...}, "notes": [...]?}
//   event:   {"v": 1, "event": {"type": "state"|"lost", ...}}   (events.h)
// One request, one reply, in order; a connection may carry many. After the ok reply to a
// stream operation (monitor), the connection carries only event messages. "hook" is set
// automatically by the client library when it runs inside a gate hook (BLKGATE_HOOK_TOKEN in the
// environment), so the daemon can refuse the call with reentrant-call instead of deadlocking.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "blkgate/result.h"

namespace blkgate::protocol {

inline constexpr int kVersion = 1;
inline constexpr std::size_t kMaxMessage = 1 << 20;  // bytes per line, both directions
// Objects and arrays nested in one message, the message itself counting 1. Checked while
// parsing: a deeper message is refused before any tree is built.
inline constexpr int kMaxDepth = 32;

struct Request {
  std::string op;
  nlohmann::json args = nlohmann::json::object();
  std::string hook;  // empty unless called from inside a hook
};

struct Reply {
  Result result;
  nlohmann::json data = nlohmann::json::object();
  // Warnings of an ok call that did not do everything (e.g. online, but not remounted).
  std::vector<std::string> notes;
};

// Whether s is UTF-8 as JSON strings carry it: no stray or truncated sequence, no overlong
// form, no surrogate, nothing past U+10FFFF. Encode turns anything else into U+FFFD, so a
// string that must arrive unchanged (a path) is checked with this before it is sent.
bool IsValidUtf8(std::string_view s) noexcept;

// Encoders never fail; the output has no '\n' but the final one.
std::string Encode(const Request& r);
std::string Encode(const Reply& r);
// protocol_error naming the problem (over kMaxMessage bytes, nested deeper than kMaxDepth, not
// JSON, wrong version, missing/mistyped field, unknown result name) and *out untouched on
// failure. Never recurses deeper than kMaxDepth, whatever the input.
Result Decode(std::string_view line, Request* out);
Result Decode(std::string_view line, Reply* out);
// A message of a subscription: its "event" object (events.h ToJson, LostNotice).
std::string EncodeEvent(const nlohmann::json& event);
// protocol_error as Decode, also when "event" is missing or not an object with a string "type".
Result DecodeEvent(std::string_view line, nlohmann::json* event);

}  // namespace blkgate::protocol
