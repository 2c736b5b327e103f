// blkgate/size.h — parsing and printing byte sizes ("4K", "1G": powers of 1024), and printing
// durations for messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

// Parses a non-negative decimal integer with an optional suffix K, M, G, T (upper or lower
// case, optional trailing "iB"/"B": "4k", "4K", "4KiB"). Rejects empty input, signs,
// fractions, unknown suffixes and values that overflow 64 bits with invalid_argument.
Result ParseSize(std::string_view text, std::uint64_t* out);

// Human-readable size, exact when possible: 1073741824 -> "1G", 1536 -> "1536".
std::string FormatSize(std::uint64_t bytes);

// A duration in seconds, to a tenth: 60000 ms -> "60 s", 1500 ms -> "1.5 s", 250 ms -> "0.2 s".
std::string FormatSeconds(std::chrono::milliseconds d);

}  // namespace blkgate
