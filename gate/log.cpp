#include "log.h"

#include <unistd.h>

#include <string>

namespace blkgate {

void Log(std::string_view message) noexcept {
  try {
    std::string line = "blkgate: ";
    line.append(message);
    line.push_back('\n');
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    (void)n;
  } catch (...) {  // allocation failure: drop the line rather than throw from a logger
  }
}

}  // namespace blkgate
