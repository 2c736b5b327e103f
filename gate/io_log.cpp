// gate/io_log.cpp — see io_log.h. Formats on the stack, writes through blkgate::Log.
#include "io_log.h"

#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "log.h"

namespace blkgate::io {

void LogLine(const char* fmt, ...) noexcept {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  Log(std::string_view(line, static_cast<std::size_t>(n) < sizeof line ? n : sizeof line - 1));
}

}  // namespace blkgate::io
