// blkgate/env.h — the environment the control plane's pure parts use (leveldb's Env).
//
// The state store and anything else that must be tested without a kernel goes through Env;
// tests inject a MemEnv (tests/unit) or a failing one.
#pragma once

#include <string>
#include <string_view>

#include "blkgate/result.h"

namespace blkgate {

class Env {
 public:
  virtual ~Env() = default;
  // not_found when missing.
  virtual Result ReadFile(const std::string& path, std::string* out) = 0;
  // Durable replace: write path.tmp, fsync, rename over path, fsync the directory.
  virtual Result WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  // Atomic copy-by-link of src to dst (replacing dst); not_found when src is missing. Not synced:
  // durable with the next fsync of the directory (the state store's WriteFileAtomic, in the same
  // directory, right after; one directory fsync instead of two per save).
  virtual Result LinkReplace(const std::string& src, const std::string& dst) = 0;
  virtual bool Exists(const std::string& path) = 0;
};

// The real filesystem. Never null; lives forever.
Env* DefaultEnv();

}  // namespace blkgate
