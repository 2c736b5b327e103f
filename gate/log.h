// gate/log.h — one-line log messages on stderr, safe from any control-plane thread.
#pragma once

#include <string_view>

namespace blkgate {

// "blkgate: <message>\n" written with a single write(2) so lines never interleave.
void Log(std::string_view message) noexcept;

}  // namespace blkgate
