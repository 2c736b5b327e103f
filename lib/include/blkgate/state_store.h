// blkgate/state_store.h — the daemon's persistent state: DIR/state.json.
//
// Save: the current file is first hard-linked to state.json.prev (the previous generation),
// then replaced atomically (a fresh O_EXCL|O_NOFOLLOW temp file, fsync, rename, fsync of the
// directory). Load: a corrupt file is an error naming the file, and is never overwritten by this
// class afterwards (Save refuses until a successful Load). No state.json at all is an empty
// catalog only when there is no state.json.prev either: a lone .prev means the state was lost,
// not that there was none, and Load refuses, naming both files and the two ways out.
//
// Save's failure contract (the Controller keeps its old catalog when Save fails, so the file
// must then hold the old catalog too): a failure before the rename leaves state.json untouched;
// when only the directory fsync after the rename fails, the rename is undone (the previous
// generation linked back, or the new file removed if there was none) and the error is
// returned, so memory and disk agree. Should even that undo fail, the store refuses every
// further Save (invalid_state naming what happened) until the daemon restarts and loads the
// file as it is: it never writes on top of a state it no longer knows.
//
// Thread-safety: none; the daemon calls it under its control lock.
#pragma once

#include <string>

#include "blkgate/env.h"
#include "blkgate/model.h"
#include "blkgate/result.h"

namespace blkgate {

class StateStore {
 public:
  StateStore(Env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}

  // On failure (invalid_state "state file ... is corrupt: ...", or "... is missing but ...
  // exists") *out is untouched.
  Result Load(Catalog* out);
  Result Save(const Catalog& c);

  std::string path() const { return dir_ + "/state.json"; }
  std::string prev_path() const { return dir_ + "/state.json.prev"; }

 private:
  Env* env_;
  std::string dir_;
  // Why Save refuses: empty once a Load succeeded and as long as disk and memory agree.
  std::string refuse_ = "it was not loaded successfully";
};

}  // namespace blkgate
