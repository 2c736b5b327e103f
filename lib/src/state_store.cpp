#include "blkgate/state_store.h"

namespace blkgate {

Result StateStore::Load(Catalog* out) {
  std::string text;
  Result r = env_->ReadFile(path(), &text);
  if (r.code() == Code::not_found) {
    *out = Catalog();
    loaded_ok_ = true;
    return Result::Ok();
  }
  if (!r.ok()) return r;
  Catalog c;
  if (Result p = c.FromJson(text); !p.ok())
    return Result::InvalidState("state file " + path() + " is corrupt: " + p.message() +
                                " (left untouched; the previous generation, if any, is " +
                                prev_path() + ")");
  *out = std::move(c);
  loaded_ok_ = true;
  return Result::Ok();
}

Result StateStore::Save(const Catalog& c) {
  if (!loaded_ok_)
    return Result::InvalidState("refusing to write " + path() + ": it was not loaded successfully");
  Result link = env_->LinkReplace(path(), prev_path());
  if (!link.ok() && link.code() != Code::not_found) return link;
  return env_->WriteFileAtomic(path(), c.ToJson());
}

}  // namespace blkgate
