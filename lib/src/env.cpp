#include "blkgate/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "blkgate/unique_fd.h"

namespace blkgate {
namespace {

Result WriteAll(int fd, std::string_view data, const std::string& what) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Result::FromErrno(errno, "write " + what);
    off += static_cast<std::size_t>(n);
  }
  return Result::Ok();
}

// Removes path; ok when it was not there.
Result RemoveStale(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Result::FromErrno(errno, "remove " + path);
  return Result::Ok();
}

class PosixEnv final : public Env {
 public:
  Result ReadFile(const std::string& path, std::size_t max_bytes, std::string* out) override {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return Result::NotFound(path + " does not exist");
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
      if (data.size() > max_bytes)
        return Result::InvalidArgument(path + " is larger than " + std::to_string(max_bytes) +
                                       " bytes");
    }
    *out = std::move(data);
    return Result::Ok();
  }

  Result ReplaceFile(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp";
    BLKGATE_TRY(RemoveStale(tmp));  // left by a crash, or planted
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return Result::FromErrno(errno, "create " + tmp);
    Result r = WriteAll(fd.get(), data, tmp);
    if (r.ok() && ::fsync(fd.get()) != 0) r = Result::FromErrno(errno, "fsync " + tmp);
    if (r.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
      r = Result::FromErrno(errno, "rename " + tmp + " to " + path);
    if (!r.ok()) ::unlink(tmp.c_str());
    return r;
  }

  Result LinkReplace(const std::string& src, const std::string& dst) override {
    const std::string tmp = dst + ".tmp";
    BLKGATE_TRY(RemoveStale(tmp));
    // link() creates tmp and fails on anything planted there since; it never follows src.
    if (::link(src.c_str(), tmp.c_str()) != 0) {
      if (errno == ENOENT) return Result::NotFound(src + " does not exist");
      return Result::FromErrno(errno, "link " + src + " to " + tmp);
    }
    if (::rename(tmp.c_str(), dst.c_str()) != 0) {
      Result r = Result::FromErrno(errno, "rename " + tmp + " to " + dst);
      ::unlink(tmp.c_str());
      return r;
    }
    return Result::Ok();
  }

  Result Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Result::NotFound(path + " does not exist");
      return Result::FromErrno(errno, "remove " + path);
    }
    return Result::Ok();
  }

  Result SyncDir(const std::string& dir) override {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return Result::FromErrno(errno, "open " + dir);
    if (::fsync(fd.get()) != 0) return Result::FromErrno(errno, "fsync " + dir);
    return Result::Ok();
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
};

}  // namespace

Env* DefaultEnv() {
  static PosixEnv env;
  return &env;
}

}  // namespace blkgate
