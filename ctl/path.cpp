#include "path.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace blkgate::ctl {
namespace {

// realpath(3) as a string; false when it fails.
bool real(const std::string& p, std::string* out) {
  char* r = ::realpath(p.c_str(), nullptr);
  if (r == nullptr) return false;
  *out = r;
  std::free(r);
  return true;
}

// `p` made absolute against the working directory and lexically normalised.
Result Lexical(const std::string& p, std::string* out) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(std::filesystem::path(p), ec);
  if (ec) return Result::FromErrno(ec.value(), "getcwd");
  std::string s = abs.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  *out = s;
  return Result::Ok();
}

}  // namespace

Result ResolvePath(std::string_view path, bool directory, std::string* out) {
  if (path.empty()) return Result::InvalidArgument("empty path");
  std::string p(path);
  if (p.find('\0') != std::string::npos) {
    return Result::InvalidArgument("path contains a NUL byte");
  }
  // Drop trailing slashes ("dir/" -> "dir"), but keep "/".
  while (p.size() > 1 && p.back() == '/') p.pop_back();

  // An access path is never resolved through symbolic links: the daemon refuses any link in
  // it (permission-denied), and must see it to say so. The working directory is physical
  // (getcwd has no links), so a relative path only gains links the user typed.
  if (directory) return Lexical(p, out);

  std::string resolved;

  const std::size_t slash = p.rfind('/');
  const std::string last = slash == std::string::npos ? p : p.substr(slash + 1);
  const std::string parent =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  if (last.empty() || last == "." || last == "..") {
    // "/", "x/.", "..": there is no last name to keep.
    if (real(p, &resolved)) {
      *out = resolved;
      return Result::Ok();
    }
  } else if (real(parent, &resolved)) {
    *out = resolved == "/" ? "/" + last : resolved + "/" + last;
    return Result::Ok();
  }

  return Lexical(p, out);
}

}  // namespace blkgate::ctl
