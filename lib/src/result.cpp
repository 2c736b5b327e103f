// lib/src/result.cpp — the result table's names, meanings and the errno mapping.
#include "blkgate/result.h"

#include <array>
#include <cerrno>
#include <cstring>

namespace blkgate {
namespace {

struct CodeInfo {
  std::string_view name;
  std::string_view meaning;
};

constexpr std::array<CodeInfo, kCodeCount> kCodes = {{
#define BLKGATE_X(e, C, name, meaning) {name, meaning},
    BLKGATE_RESULT_CODES(BLKGATE_X)
#undef BLKGATE_X
}};

}  // namespace

std::string_view CodeName(Code c) noexcept {
  auto i = static_cast<std::size_t>(c);
  return i < kCodes.size() ? kCodes[i].name : std::string_view("unknown");
}

std::string_view CodeMeaning(Code c) noexcept {
  auto i = static_cast<std::size_t>(c);
  return i < kCodes.size() ? kCodes[i].meaning : std::string_view();
}

std::optional<Code> CodeFromName(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kCodes.size(); ++i)
    if (kCodes[i].name == name) return static_cast<Code>(i);
  return std::nullopt;
}

int CodeExitStatus(Code c) noexcept {
  return c == Code::ok ? 0 : 10 + static_cast<int>(c);
}

Code CodeOfErrno(int err) noexcept {
  switch (err) {
    case ENOENT:
      return Code::not_found;
    case EBUSY:
      return Code::device_in_use;
    case EACCES:
    case EPERM:
      return Code::permission_denied;
    case EEXIST:
      return Code::already_exists;
    default:
      return Code::io_error;
  }
}

Result Result::Missing(std::string_view kind, std::string_view name) {
  return NotFound(std::string(kind) + " '" + std::string(name) + "' does not exist");
}

Result Result::Duplicate(std::string_view kind, std::string_view name) {
  return AlreadyExists(std::string(kind) + " '" + std::string(name) + "' already exists");
}

Result Result::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return {CodeOfErrno(err), std::move(msg)};
}

std::string Result::ToString() const {
  std::string s(name());
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

Result Result::Prefixed(std::string_view prefix) const {
  if (ok()) return *this;
  return {code_, std::string(prefix) + ": " + message_};
}

}  // namespace blkgate
