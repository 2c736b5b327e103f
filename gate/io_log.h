// gate/io_log.h — one-line diagnostics from the data path, to stderr.
//
// Formats printf-style and writes through blkgate::Log (gate/log.h).
// For rare events only (setup decisions, backend errors, unexpected kernel results); never
// called per request on the success path. Thread-safe (one write(2) per line).
#pragma once

namespace blkgate::io {

void LogLine(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));

}  // namespace blkgate::io
