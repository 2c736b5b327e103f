#include "blkgate/state_store.h"

namespace blkgate {

Result StateStore::Load(Catalog* out) {
  std::string text;
  Result r = env_->ReadFile(path(), kMaxStateBytes, &text);
  if (r.code() == Code::not_found) {
    if (env_->Exists(prev_path()))
      return Result::InvalidState(
          "state file " + path() + " is missing but its previous generation " + prev_path() +
          " exists: the state was lost, not empty, so the daemon will not start with no "
          "objects. Either restore the previous generation (it lacks only the last change): "
          "cp -p " +
          prev_path() + " " + path() + ", or start empty on purpose: rm " + prev_path());
    *out = Catalog();
    refuse_.clear();
    return Result::Ok();
  }
  // Could not read it (io_error, permission_denied): not known to be corrupt. Too large is.
  if (!r.ok() && r.code() != Code::invalid_argument) return r;
  Catalog c;
  if (r.ok()) r = c.FromJson(text);
  if (!r.ok())
    return Result::InvalidState("state file " + path() + " is corrupt: " + r.message() +
                                " (left untouched; the previous generation, if any, is " +
                                prev_path() + ")");
  *out = std::move(c);
  refuse_.clear();
  return Result::Ok();
}

Result StateStore::Save(const Catalog& c) {
  if (!refuse_.empty()) return Result::InvalidState("refusing to write " + path() + ": " + refuse_);
  Result link = env_->LinkReplace(path(), prev_path());
  if (!link.ok() && link.code() != Code::not_found) return link;
  const bool had_previous = link.ok();
  BLKGATE_TRY(env_->ReplaceFile(path(), c.ToJson()));
  const Result sync = env_->SyncDir(dir_);
  if (sync.ok()) return Result::Ok();
  // The new file is visible but maybe not durable, and the caller keeps its old catalog on
  // failure: put the old file back so that both agree.
  Result undo = had_previous ? env_->LinkReplace(prev_path(), path()) : env_->Remove(path());
  if (undo.ok()) {
    (void)env_->SyncDir(dir_);  // best effort: it just failed
    return Result::Error(sync.code(), sync.message() + ": not saved, " + path() +
                                          " is back at its previous content");
  }
  refuse_ = path() + " holds a change the daemon does not (" + sync.ToString() +
            ", then undoing it: " + undo.ToString() + "); restart the daemon to load it";
  return Result::Error(sync.code(), sync.message() + ": " + refuse_);
}

}  // namespace blkgate
