#include "blkgate/size.h"

#include <cctype>
#include <limits>

namespace blkgate {

Result ParseSize(std::string_view text, std::uint64_t* out) {
  auto bad = [&](std::string_view why) {
    return Result::InvalidArgument("bad size '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  std::size_t i = 0;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) return bad("too large");
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return bad("expected a number with an optional K, M, G or T suffix");
  std::string_view suffix = text.substr(i);
  int shift = 0;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      case 'B':
        shift = -1;
        break;
      default:
        return bad("unknown suffix '" + std::string(suffix) + "'");
    }
    std::string_view rest = suffix.substr(1);
    if (shift == -1) {
      shift = 0;
      if (!rest.empty()) return bad("unknown suffix '" + std::string(suffix) + "'");
    } else if (!(rest.empty() || rest == "B" || rest == "b" || rest == "iB" || rest == "ib")) {
      return bad("unknown suffix '" + std::string(suffix) + "'");
    }
  }
  if (shift > 0 && value > (kMax >> shift)) return bad("too large");
  *out = value << shift;
  return Result::Ok();
}

std::string FormatSize(std::uint64_t bytes) {
  static constexpr char kUnits[] = {'T', 'G', 'M', 'K'};
  static constexpr int kShifts[] = {40, 30, 20, 10};
  if (bytes != 0) {
    for (int i = 0; i < 4; ++i) {
      std::uint64_t unit = std::uint64_t{1} << kShifts[i];
      if (bytes % unit == 0) return std::to_string(bytes / unit) + kUnits[i];
    }
  }
  return std::to_string(bytes);
}

std::string FormatSeconds(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
}

}  // namespace blkgate
