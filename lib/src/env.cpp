#include "blkgate/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace blkgate {
namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Result::FromErrno(errno, "open " + dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Result::FromErrno(err, "fsync " + dir);
  return Result::Ok();
}

class PosixEnv final : public Env {
 public:
  Result ReadFile(const std::string& path, std::string* out) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Result::Error(Code::not_found, path + " does not exist");
      return Result::FromErrno(errno, "open " + path);
    }
    std::string data;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return Result::FromErrno(err, "read " + path);
      }
      if (n == 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    *out = std::move(data);
    return Result::Ok();
  }

  Result WriteFileAtomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Result::FromErrno(errno, "create " + tmp);
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Result::FromErrno(err, "write " + tmp);
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Result::FromErrno(err, "fsync " + tmp);
    }
    ::close(fd);
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
