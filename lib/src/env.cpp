#include "blkgate/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "blkgate/unique_fd.h"

namespace blkgate {
namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Result::FromErrno(errno, "open " + dir);
  if (::fsync(fd.get()) != 0) return Result::FromErrno(errno, "fsync " + dir);
  return Result::Ok();
}

// Creates (or truncates) path with data and fsyncs it; the descriptor is closed on return.
Result WriteAndSync(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return Result::FromErrno(errno, "create " + path);
  for (std::size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Result::FromErrno(errno, "write " + path);
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return Result::FromErrno(errno, "fsync " + path);
  return Result::Ok();
}

class PosixEnv final : public Env {
 public:
  Result ReadFile(const std::string& path, std::string* out) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return Result::Error(Code::not_found, path + " does not exist");
      return Result::FromErrno(errno, "open " + path);
    }
    std::string data;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Result::FromErrno(errno, "read " + path);
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    *out = std::move(data);
    return Result::Ok();
  }

  Result WriteFileAtomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    if (Result r = WriteAndSync(tmp, data); !r) {
      ::unlink(tmp.c_str());
      return r;
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Result::FromErrno(err, "rename " + tmp);
    }
    return fsync_dir(dir_of(path));
  }

  Result LinkReplace(const std::string& src, const std::string& dst) override {
    const std::string tmp = dst + ".tmp";
    ::unlink(tmp.c_str());
    if (::link(src.c_str(), tmp.c_str()) != 0) {
      if (errno == ENOENT) return Result::Error(Code::not_found, src + " does not exist");
      return Result::FromErrno(errno, "link " + src);
    }
    if (::rename(tmp.c_str(), dst.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Result::FromErrno(err, "rename " + tmp);
    }
    return Result::Ok();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }
};

}  // namespace

Env* DefaultEnv() {
  static PosixEnv env;
  return &env;
}

}  // namespace blkgate
