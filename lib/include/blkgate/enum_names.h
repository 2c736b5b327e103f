// blkgate/enum_names.h — enum <-> name through one table per enum (lib/ and the daemon).
//
// Each enum whose values are 0..N-1 has one constexpr array of names in value order; ToString
// and the parser of that enum both read it, so a name is written once.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

template <typename E, std::size_t N>
constexpr std::string_view NameOf(const std::array<std::string_view, N>& names, E e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : std::string_view("unknown");
}

// Sets *out to the value named `s`; otherwise invalid_argument
// "bad <what> '<s>': expected a, b or c" and *out untouched.
template <typename E, std::size_t N>
Result ParseByName(std::string_view s, const std::array<std::string_view, N>& names,
                   std::string_view what, E* out) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) {
      *out = static_cast<E>(i);
      return Result::Ok();
    }
  }
  std::string expected;
  for (std::size_t i = 0; i < N; ++i) {
    if (i) expected += i + 1 == N ? " or " : ", ";
    expected += names[i];
  }
  return Result::InvalidArgument("bad " + std::string(what) + " '" + std::string(s) +
                                 "': expected " + expected);
}

}  // namespace blkgate
