// fuzz/size.cpp — libFuzzer target: ParseSize on any text, FormatSize on any number.
//
// Invariants: a parsed size formats to text that parses back to the same number; a failed
// parse leaves the output untouched and says invalid_argument; FormatSize of the input's first
// 8 bytes (as a number) parses back to that number.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "blkgate/size.h"
#include "check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace blkgate;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::uint64_t n = 12345;
  const Result r = ParseSize(text, &n);
  if (!r.ok()) {
    FUZZ_CHECK(r.code() == Code::invalid_argument && n == 12345);
  } else {
    std::uint64_t back = 0;
    FUZZ_CHECK(ParseSize(FormatSize(n), &back).ok() && back == n);
  }
  if (size >= sizeof(std::uint64_t)) {
    std::uint64_t raw;
    std::memcpy(&raw, data, sizeof raw);
    std::uint64_t back = 0;
    FUZZ_CHECK(ParseSize(FormatSize(raw), &back).ok() && back == raw);
  }
  return 0;
}
