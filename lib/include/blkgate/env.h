// blkgate/env.h — the environment the control plane's pure parts use (leveldb's Env).
//
// The state store and anything else that must be tested without a kernel goes through Env;
// tests inject a MemEnv (tests/unit) or a failing one. Nothing here follows a symlink when it
// creates or replaces a name: a symlink planted in the directory is replaced or refused,
// never written through.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

class Env {
 public:
  virtual ~Env() = default;
  // not_found when missing; invalid_argument "PATH is larger than N bytes" when it is (read no
  // further than that).
  virtual Result ReadFile(const std::string& path, std::size_t max_bytes, std::string* out) = 0;
  // Replace path with data: path.tmp is created afresh (a stale one removed first, then
  // O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600: a name planted there in between is refused), written,
  // fsynced and renamed over path. On failure path is untouched and no temp is left. Durable
  // with the next SyncDir of the directory.
  virtual Result ReplaceFile(const std::string& path, std::string_view data) = 0;
  // Atomic copy-by-link of src to dst (replacing dst; src itself if it is a symlink); not_found
  // when src is missing. Durable with the next SyncDir.
  virtual Result LinkReplace(const std::string& src, const std::string& dst) = 0;
  // Remove the name; not_found when missing. Durable with the next SyncDir.
  virtual Result Remove(const std::string& path) = 0;
  // fsync the directory: the renames, links and removals in it become durable.
  virtual Result SyncDir(const std::string& dir) = 0;
  // Whether anything is at path (a dangling symlink too).
  virtual bool Exists(const std::string& path) = 0;
};

// The real filesystem. Never null; lives forever.
Env* DefaultEnv();

}  // namespace blkgate
