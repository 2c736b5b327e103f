// blkgate/state_store.h — the daemon's persistent state: DIR/state.json.
//
// Save: the current file is first hard-linked to state.json.prev (the previous generation),
// then replaced atomically (temp file, fsync, rename, fsync dir). Load: a missing file is an
// empty catalog; a corrupt one is an error naming the file, and is never overwritten by this
// class afterwards (Save refuses until a successful Load).
#pragma once

#include <string>

#include "blkgate/env.h"
#include "blkgate/model.h"
#include "blkgate/result.h"

namespace blkgate {

class StateStore {
 public:
  StateStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  // On failure (invalid_state "state file ... is corrupt: ...") *out is untouched.
  Result Load(Catalog* out);
  Result Save(const Catalog& c);

  std::string path() const { return dir_ + "/state.json"; }
  std::string prev_path() const { return dir_ + "/state.json.prev"; }

 private:
  Env* env_;
  std::string dir_;
  bool loaded_ok_ = false;
};

}  // namespace blkgate
