#include "json_parse.h"

#include <new>
#include <string>

namespace blkgate {
namespace {

// Thrown from the parser callback to stop the parse at the first container past the limit;
// caught below, never leaves this file.
struct TooDeep {};

}  // namespace

Result ParseJsonLimited(std::string_view text, const JsonLimits& limits, nlohmann::json* out) {
  using nlohmann::json;
  if (text.size() > limits.max_bytes)
    return Result::InvalidArgument("is larger than " + std::to_string(limits.max_bytes) + " bytes");
  // `depth` is the number of containers around the one that opens (0 for the outermost).
  const json::parser_callback_t check_depth = [&limits](int depth, json::parse_event_t event,
                                                        json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= limits.max_depth)
      throw TooDeep{};
    return true;
  };
  try {
    json j = json::parse(text, check_depth, /*allow_exceptions=*/true);
    *out = std::move(j);
  } catch (const TooDeep&) {
    return Result::InvalidArgument("is nested deeper than " + std::to_string(limits.max_depth) +
                                   " levels");
  } catch (const json::parse_error& e) {
    return Result::InvalidArgument("is not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception&) {
    return Result::InvalidArgument("is not valid JSON");
  } catch (const std::bad_alloc&) {
    return Result::InvalidArgument("could not be parsed: out of memory");
  }
  return Result::Ok();
}

}  // namespace blkgate
