// lib/src/json_parse.h — JSON text to a tree, with a size and a nesting-depth limit checked
// while parsing (private to lib/).
//
// Every JSON document that crosses a trust boundary (protocol lines, the state file) is parsed
// here. The depth is checked as each object or array opens, through nlohmann's parser callback,
// and the parse stops there: a 1M-deep `[[[...` never becomes a tree, so nothing that later
// copies, compares, prints or destroys the tree (all recursive) can run out of stack.
// Pure, thread-safe, no exception escapes.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

struct JsonLimits {
  std::size_t max_bytes;  // the text itself
  int max_depth;          // objects and arrays, the outermost one counting 1
};

// On failure *out is untouched and the result is invalid_argument with a phrase that reads
// after a subject ("message " + ..., "file " + ...):
//   "is larger than N bytes", "is nested deeper than N levels",
//   "is not valid JSON (at byte N)", "could not be parsed: out of memory".
Result ParseJsonLimited(std::string_view text, const JsonLimits& limits, nlohmann::json* out);

}  // namespace blkgate
