// fuzz/protocol.cpp — libFuzzer target: protocol::Decode of requests and replies, and
// DecodeEvent of subscription messages (with events.h FromJson), on any bytes.
//
// Beyond "no crash, no leak, no undefined behaviour, no stack overflow": a failed decode leaves
// its output untouched; whatever decodes encodes to one line that decodes to the same message
// (when the encoding still fits in kMaxMessage: escapes can make it longer); and
// protocol::IsValidUtf8 agrees with nlohmann on which bytes a JSON string can carry.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "blkgate/events.h"
#include "blkgate/protocol.h"
#include "check.h"

namespace {

using namespace blkgate;

bool Same(const protocol::Request& a, const protocol::Request& b) {
  return a.op == b.op && a.args == b.args && a.hook == b.hook;
}

bool Same(const protocol::Reply& a, const protocol::Reply& b) {
  return a.result.code() == b.result.code() && a.result.message() == b.result.message() &&
         a.data == b.data && a.notes == b.notes;
}

template <typename Message>
void RoundTrip(std::string_view line, const Message& untouched) {
  Message m = untouched;
  if (!protocol::Decode(line, &m).ok()) {
    FUZZ_CHECK(Same(m, untouched));
    return;
  }
  const std::string wire = protocol::Encode(m);
  FUZZ_CHECK(!wire.empty() && wire.back() == '\n' && wire.find('\n') == wire.size() - 1);
  if (wire.size() > protocol::kMaxMessage) return;
  Message back;
  FUZZ_CHECK(protocol::Decode(wire, &back).ok() && Same(back, m));
}

bool NlohmannTakesUtf8(std::string_view s) {
  try {
    (void)nlohmann::json(std::string(s)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  protocol::Request request;
  request.op = "untouched";
  RoundTrip(line, request);
  protocol::Reply reply;
  reply.notes = {"untouched"};
  RoundTrip(line, reply);
  FUZZ_CHECK(protocol::IsValidUtf8(line) == NlohmannTakesUtf8(line));
  // Events: what decodes re-encodes to one line with the same event; a state event that
  // FromJson takes round-trips through ToJson.
  nlohmann::json event = "untouched";
  if (!protocol::DecodeEvent(line, &event).ok()) {
    FUZZ_CHECK(event == "untouched");
  } else {
    const std::string wire = protocol::EncodeEvent(event);
    FUZZ_CHECK(!wire.empty() && wire.find('\n') == wire.size() - 1);
    nlohmann::json back;
    if (wire.size() <= protocol::kMaxMessage)
      FUZZ_CHECK(protocol::DecodeEvent(wire, &back).ok() && back == event);
    Event e;
    if (FromJson(event, &e).ok()) {
      Event again;
      FUZZ_CHECK(FromJson(ToJson(e), &again).ok() && ToJson(again) == ToJson(e));
    }
  }
  return 0;
}
