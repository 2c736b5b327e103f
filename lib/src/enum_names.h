// lib/src/enum_names.h — parsing an enum by its ToString() name (private to lib/).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

// Sets *out to the value whose ToString() is `s`; otherwise invalid_argument
// "bad <what> '<s>': expected <expected>" and *out untouched.
template <typename E>
Result ParseByName(std::string_view s, std::initializer_list<E> values, std::string_view what,
                   std::string_view expected, E* out) {
  for (E v : values) {
    if (ToString(v) == s) {
      *out = v;
      return Result::Ok();
    }
  }
  std::string msg = "bad " + std::string(what) + " '" + std::string(s) + "'";
  if (!expected.empty()) msg += ": expected " + std::string(expected);
  return Result::InvalidArgument(std::move(msg));
}

}  // namespace blkgate
